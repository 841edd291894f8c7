// The Security object (/0): the runtime's instance class and the accounts it holds (URI, mode, PSK, Short Server ID, bootstrap timers).
import { ValueError } from '../errors.js';
import type { ResourceContent } from '../model.js';
import { ObjectInstance } from '../object/instance.js';
import { SECURITY_MODEL } from './security-model.js';

export const SECURITY_OBJECT = 0;

/** Resource ids of the Security object the runtime uses. */
export const SecurityResource = Object.freeze({
  SERVER_URI: 0,
  BOOTSTRAP_SERVER: 1,
  SECURITY_MODE: 2,
  PUBLIC_KEY_OR_IDENTITY: 3,
  SERVER_PUBLIC_KEY: 4,
  SECRET_KEY: 5,
  SHORT_SERVER_ID: 10,
  CLIENT_HOLD_OFF_TIME: 11,
  BOOTSTRAP_ACCOUNT_TIMEOUT: 12,
});

/** Security Mode (/0/x/2): 0 PSK, 1 Raw Public Key, 2 Certificate, 3 NoSec, 4 Certificate with EST. */
export const SecurityMode = Object.freeze({ PSK: 0, RPK: 1, CERTIFICATE: 2, NO_SEC: 3, EST: 4 });

/** What the app (factory bootstrap) or a store gives for one account. Keys stay in memory and in the store only. */
export interface SecurityAccountInput {
  /** LwM2M Server URI (/0/x/0): coap://, coaps://, coap+tcp:// or coaps+tcp://. */
  readonly uri: string;
  /** True for the Bootstrap-Server account (/0/x/1). */
  readonly bootstrap?: boolean;
  /** Security Mode (/0/x/2); default PSK when a key is given, else NoSec. */
  readonly mode?: number;
  /** PSK identity (/0/x/3, as its UTF-8 bytes). */
  readonly pskIdentity?: string | Uint8Array;
  /** PSK secret key (/0/x/5). */
  readonly pskKey?: Uint8Array;
  /** Short Server ID (/0/x/10), which ties the account to its /1 instance; not for the bootstrap account. */
  readonly shortServerId?: number;
  /** Client Hold Off Time (/0/x/11), seconds, in the bootstrap account. */
  readonly clientHoldOffTime?: number;
  /** Bootstrap-Server Account Timeout (/0/x/12), seconds, in the bootstrap account (0: kept for good). */
  readonly accountTimeout?: number;
}

/** One account as the runtime reads it from a /0 instance. */
export interface SecurityAccount {
  readonly instanceId: number;
  readonly uri: string;
  readonly bootstrap: boolean;
  readonly mode: number;
  /** The PSK identity as text (identities are printable in practice); undefined when absent or empty. */
  readonly pskIdentity: string | undefined;
  readonly pskKey: Uint8Array | undefined;
  readonly shortServerId: number | undefined;
  readonly clientHoldOffTime: number;
  readonly accountTimeout: number;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * A /0 instance. Its resources have no operations: only the bootstrap process (and the app, through this class)
 * reads or writes them, never a management server. `toJSON` and inspection show no key material.
 */
export class SecurityInstance extends ObjectInstance {
  constructor(instanceId: number, input?: SecurityAccountInput) {
    super(SECURITY_MODEL, instanceId, {});
    if (!input) return;
    const mode = input.mode ?? (input.pskKey ? SecurityMode.PSK : SecurityMode.NO_SEC);
    this.setResource(SecurityResource.SERVER_URI, input.uri);
    this.setResource(SecurityResource.BOOTSTRAP_SERVER, input.bootstrap ?? false);
    this.setResource(SecurityResource.SECURITY_MODE, mode);
    const identity = input.pskIdentity ?? new Uint8Array(0);
    this.setResource(SecurityResource.PUBLIC_KEY_OR_IDENTITY, typeof identity === 'string' ? utf8.encode(identity) : identity);
    this.setResource(SecurityResource.SERVER_PUBLIC_KEY, new Uint8Array(0));
    this.setResource(SecurityResource.SECRET_KEY, input.pskKey ?? new Uint8Array(0));
    if (input.shortServerId !== undefined) this.setResource(SecurityResource.SHORT_SERVER_ID, input.shortServerId);
    if (input.clientHoldOffTime !== undefined) this.setResource(SecurityResource.CLIENT_HOLD_OFF_TIME, input.clientHoldOffTime);
    if (input.accountTimeout !== undefined) this.setResource(SecurityResource.BOOTSTRAP_ACCOUNT_TIMEOUT, input.accountTimeout);
  }

  /** A resource's stored value (the resources are not readable by servers, so readResource refuses them). */
  value(resourceId: number): ResourceContent | undefined {
    return this.getResource(resourceId);
  }

  /** Every stored value, keys included: for the bootstrap staging and the store, never for a server or a log. */
  values(): Map<number, ResourceContent> {
    const out = new Map<number, ResourceContent>();
    for (const r of this.definition.resources) {
      const v = this.getResource(r.id);
      if (v !== undefined) out.set(r.id, v);
    }
    return out;
  }

  /** Sets values at once, each checked against the model (bootstrap staging, the store); not a server operation. */
  restore(values: ReadonlyMap<number, ResourceContent>): void {
    for (const [id, v] of values) this.setResource(id, v);
  }

  /** The account; throws ValueError naming the path when a mandatory resource is missing. */
  account(): SecurityAccount {
    const need = (id: number): ResourceContent => {
      const v = this.getResource(id);
      if (v === undefined) throw new ValueError('missing in the Security instance', this.path(id));
      return v;
    };
    const num = (id: number, fallback: number): number => {
      const v = this.getResource(id);
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : fallback;
    };
    const identity = this.getResource(SecurityResource.PUBLIC_KEY_OR_IDENTITY);
    const key = this.getResource(SecurityResource.SECRET_KEY);
    const ssid = this.getResource(SecurityResource.SHORT_SERVER_ID);
    return {
      instanceId: this.instanceId,
      uri: String(need(SecurityResource.SERVER_URI)),
      bootstrap: need(SecurityResource.BOOTSTRAP_SERVER) === true,
      mode: num(SecurityResource.SECURITY_MODE, SecurityMode.NO_SEC),
      pskIdentity: identity instanceof Uint8Array && identity.length > 0 ? fromUtf8.decode(identity) : undefined,
      pskKey: key instanceof Uint8Array && key.length > 0 ? key : undefined,
      shortServerId: typeof ssid === 'number' ? ssid : undefined,
      clientHoldOffTime: num(SecurityResource.CLIENT_HOLD_OFF_TIME, 0),
      accountTimeout: num(SecurityResource.BOOTSTRAP_ACCOUNT_TIMEOUT, 0),
    };
  }

  /** No key material in JSON.stringify or in a log of the instance. */
  toJSON(): { path: string } {
    return { path: `/0/${this.instanceId}` };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SecurityInstance /0/${this.instanceId}`;
  }
}

/** A copy of a /0 instance with the same values (the bootstrap staging works on copies). */
export function copySecurityInstance(source: SecurityInstance, instanceId = source.instanceId): SecurityInstance {
  const copy = new SecurityInstance(instanceId);
  copy.restore(source.values());
  return copy;
}
