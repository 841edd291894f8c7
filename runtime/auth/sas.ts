// Shared Access Signature tokens (Azure IoT Hub style): signing, connection-string parsing, and timed renewal.
import { createHmac } from 'node:crypto';
import { ConnectionStringError, SasTokenError } from './errors.js';

export interface SasTokenParams {
  /** The resource the token grants access to, e.g. "myhub.azure-devices.net/devices/dev1" (not yet URI-encoded). */
  readonly resourceUri: string;
  /** The shared access key, base64 as the connection string carries it. */
  readonly key: string;
  /** Expiry in seconds since the Unix epoch. */
  readonly expiry: number;
  /** The policy name (SharedAccessKeyName); only for service or policy-scoped tokens. */
  readonly keyName?: string;
}

// Strict base64 (standard alphabet, padded or not) so a typo in a key is reported instead of silently decoded to junk.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

function decodeKey(key: string): Buffer {
  if (key.length === 0 || !BASE64.test(key)) throw new SasTokenError('the shared access key is not valid base64');
  return Buffer.from(key, 'base64');
}

/**
 * Builds `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]`: HMAC-SHA256 over
 * `encodeURIComponent(resourceUri) + "\n" + expiry`, keyed by the base64-decoded key.
 */
export function createSasToken(params: SasTokenParams): string {
  const { resourceUri, key, expiry, keyName } = params;
  if (resourceUri.length === 0) throw new SasTokenError('resourceUri is empty');
  if (!Number.isSafeInteger(expiry) || expiry < 0) throw new SasTokenError('expiry must be a non-negative integer (seconds since the epoch)');
  const sr = encodeURIComponent(resourceUri);
  const sig = createHmac('sha256', decodeKey(key)).update(`${sr}\n${expiry}`).digest('base64');
  let token = `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiry}`;
  if (keyName !== undefined && keyName !== '') token += `&skn=${encodeURIComponent(keyName)}`;
  return token;
}

/** The parts of an IoT Hub device (or module) connection string. */
export interface ConnectionString {
  readonly hostName: string;
  readonly deviceId: string;
  readonly sharedAccessKey: string;
  readonly sharedAccessKeyName?: string;
  readonly moduleId?: string;
  readonly gatewayHostName?: string;
}

const REQUIRED = ['HostName', 'DeviceId', 'SharedAccessKey'] as const;
const OPTIONAL = ['SharedAccessKeyName', 'ModuleId', 'GatewayHostName'] as const;
type Field = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];
const KNOWN: ReadonlySet<string> = new Set<string>([...REQUIRED, ...OPTIONAL]);

/**
 * Parses `HostName=…;DeviceId=…;SharedAccessKey=…[;SharedAccessKeyName=…][;ModuleId=…][;GatewayHostName=…]`.
 * Throws ConnectionStringError for missing, empty, duplicate or unknown keys and for a key that is not base64.
 */
export function parseConnectionString(text: string): ConnectionString {
  const values = new Map<Field, string>();
  const parts = text.split(';');
  // One trailing ';' is common in copied strings; tolerate it but no other empty segment.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  for (const [i, part] of parts.entries()) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new ConnectionStringError('malformed', `connection string segment ${i + 1} is not of the form Name=value`);
    }
    const name = part.slice(0, eq).trim();
    // Values are base64 and may end in '='; only the first '=' separates.
    const value = part.slice(eq + 1).trim();
    if (!KNOWN.has(name)) {
      // The name of an unknown key may be a mistyped value; cap it so a pasted secret is not echoed whole.
      const shown = /^[A-Za-z]{1,40}$/.test(name) ? name : `segment ${i + 1}`;
      throw new ConnectionStringError('unknown', `unknown connection string key ${shown} (known: ${[...KNOWN].join(', ')})`, shown);
    }
    const field = name as Field;
    if (values.has(field)) throw new ConnectionStringError('duplicate', `connection string key ${field} appears more than once`, field);
    if (value === '') throw new ConnectionStringError('empty', `connection string key ${field} is empty`, field);
    values.set(field, value);
  }
  for (const field of REQUIRED) {
    if (!values.has(field)) throw new ConnectionStringError('missing', `connection string lacks ${field}`, field);
  }
  const key = values.get('SharedAccessKey')!;
  if (!BASE64.test(key)) throw new ConnectionStringError('invalid-key', 'SharedAccessKey is not valid base64', 'SharedAccessKey');
  const cs = {
    hostName: values.get('HostName')!,
    deviceId: values.get('DeviceId')!,
  } as { -readonly [K in keyof ConnectionString]: ConnectionString[K] };
  // Non-enumerable so console.log, util.inspect and JSON.stringify of the parsed string never show the key.
  Object.defineProperty(cs, 'sharedAccessKey', { value: key, enumerable: false });
  const keyName = values.get('SharedAccessKeyName');
  if (keyName !== undefined) cs.sharedAccessKeyName = keyName;
  const moduleId = values.get('ModuleId');
  if (moduleId !== undefined) cs.moduleId = moduleId;
  const gateway = values.get('GatewayHostName');
  if (gateway !== undefined) cs.gatewayHostName = gateway;
  return cs;
}

/** The resource URI a device (or module) token is scoped to: `host/devices/<id>[/modules/<id>]`. */
export function deviceResourceUri(cs: ConnectionString): string {
  let uri = `${cs.hostName}/devices/${encodeURIComponent(cs.deviceId)}`;
  if (cs.moduleId !== undefined) uri += `/modules/${encodeURIComponent(cs.moduleId)}`;
  return uri;
}

export interface SasTokenSourceOptions {
  /** Lifetime of each token. */
  readonly ttlSeconds: number;
  /** Renew this long before expiry (must be below ttlSeconds). */
  readonly renewBeforeSeconds: number;
  /** Milliseconds since the epoch; Date.now by default, a fake clock in tests. */
  readonly clock?: () => number;
}

export interface SasTokenGrant {
  readonly token: string;
  /** Expiry in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * Hands out a device token from a connection string and mints a fresh one once the current one is within
 * renewBeforeSeconds of expiry. Pull-based: callers ask msUntilRenewal() to schedule their own timer.
 */
export class SasTokenSource {
  readonly #cs: ConnectionString;
  readonly #ttl: number;
  readonly #renewBefore: number;
  readonly #clock: () => number;
  #grant: SasTokenGrant | undefined;

  constructor(connectionString: string | ConnectionString, options: SasTokenSourceOptions) {
    this.#cs = typeof connectionString === 'string' ? parseConnectionString(connectionString) : connectionString;
    const { ttlSeconds, renewBeforeSeconds } = options;
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new SasTokenError('ttlSeconds must be a positive integer');
    if (!Number.isSafeInteger(renewBeforeSeconds) || renewBeforeSeconds < 0 || renewBeforeSeconds >= ttlSeconds) {
      throw new SasTokenError('renewBeforeSeconds must be an integer in [0, ttlSeconds)');
    }
    this.#ttl = ttlSeconds;
    this.#renewBefore = renewBeforeSeconds;
    this.#clock = options.clock ?? Date.now;
  }

  /** The current token, minted anew when none exists or the old one is due for renewal. */
  current(): SasTokenGrant {
    const now = this.#clock();
    if (this.#grant === undefined || now >= this.#grant.expiresAt - this.#renewBefore * 1000) {
      // Whole seconds, rounded up so a token never expires before ttlSeconds have passed.
      const expiry = Math.ceil(now / 1000) + this.#ttl;
      const params: { -readonly [K in keyof SasTokenParams]: SasTokenParams[K] } = {
        resourceUri: deviceResourceUri(this.#cs),
        key: this.#cs.sharedAccessKey,
        expiry,
      };
      if (this.#cs.sharedAccessKeyName !== undefined) params.keyName = this.#cs.sharedAccessKeyName;
      this.#grant = { token: createSasToken(params), expiresAt: expiry * 1000 };
    }
    return this.#grant;
  }

  /** Milliseconds until current() will mint a new token (0 when it is due now or none was minted yet). */
  msUntilRenewal(): number {
    if (this.#grant === undefined) return 0;
    return Math.max(0, this.#grant.expiresAt - this.#renewBefore * 1000 - this.#clock());
  }

  /** Keeps the key out of logs and JSON dumps of this object. */
  toJSON(): { hostName: string; deviceId: string } {
    return { hostName: this.#cs.hostName, deviceId: this.#cs.deviceId };
  }
}
