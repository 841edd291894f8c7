// The Firmware Update component's vocabulary: State and Update Result codes, the app's storage, apply and persistence hooks.
import type { CoapEndpointOptions } from '../coap/endpoint.js';
import type { DtlsTransportOptions } from '../coap/dtls.js';
import type { ConnectCoapEndpointOptions } from '../coap/stream-connect.js';

/** /5/x/3 State, as the current OMA object (5, version 1.2) numbers it. */
export const FirmwareState = {
  Idle: 0,
  Downloading: 1,
  Downloaded: 2,
  Updating: 3,
} as const;
export type FirmwareStateValue = (typeof FirmwareState)[keyof typeof FirmwareState];

/** /5/x/5 Update Result codes 0..11. */
export const FirmwareResult = {
  Initial: 0,
  Success: 1,
  NotEnoughStorage: 2,
  OutOfMemory: 3,
  ConnectionLost: 4,
  IntegrityCheckFailure: 5,
  UnsupportedPackageType: 6,
  InvalidUri: 7,
  UpdateFailed: 8,
  UnsupportedProtocol: 9,
  Cancelled: 10,
  Deferred: 11,
} as const;
export type FirmwareResultValue = (typeof FirmwareResult)[keyof typeof FirmwareResult];

/** /5/x/11 Severity (object 5 version 1.2); absent means 1, Mandatory. */
export const FirmwareSeverity = {
  Critical: 0,
  Mandatory: 1,
  Optional: 2,
} as const;
export type FirmwareSeverityValue = (typeof FirmwareSeverity)[keyof typeof FirmwareSeverity];

/** What the app's `defer` hook is asked with: how urgent the update is and until when it may wait. */
export interface DeferRequest {
  /** /5/x/11; never Critical (a critical update is not deferred). */
  readonly severity: FirmwareSeverityValue;
  /** /5/x/13, seconds (above 0). */
  readonly maxDeferPeriod: number;
  /** When the update installs without asking: the first deferral plus the Maximum Defer Period. */
  readonly deadline: Date;
}

/**
 * Thrown by the app's storage, verify or apply to name the Update Result a failure stands for: 3 Out of
 * memory, 6 Unsupported package type, … Any other error counts as the step's default (storage: 2,
 * verify: 5, apply: 8).
 */
export class FirmwareFailure extends Error {
  readonly result: FirmwareResultValue;
  constructor(result: FirmwareResultValue, message: string) {
    super(message);
    this.name = 'FirmwareFailure';
    this.result = result;
  }
}

/** Download protocols by URI scheme, with their /5/x/8 Protocol Support code. */
export const FirmwareProtocolCode = {
  coap: 0,
  coaps: 1,
  http: 2,
  https: 3,
  'coap+tcp': 4,
  'coaps+tcp': 5,
} as const;
export type FirmwareProtocol = keyof typeof FirmwareProtocolCode;

/**
 * Where the package goes while it arrives: the app's flash slot, a file, memory in tests. Bytes arrive in
 * order; `write` is never called with an offset beyond `size()`, and a write below `size()` (a resumed CoAP
 * download restarts at a block boundary) replaces what was there from that offset on.
 */
export interface FirmwareStorage {
  /** A new package starts: drop any previous or partial one. `expectedSize` when the sender announced it. */
  begin(expectedSize: number | undefined): void | Promise<void>;
  write(offset: number, bytes: Uint8Array): void | Promise<void>;
  /** Bytes held from offset 0 without a gap: where a resumed download picks up (also after a restart). */
  size(): number | Promise<number>;
  /** The last byte is in (flush, close the file). */
  finish(): void | Promise<void>;
  /** Drop the package: a cancel, a failed check, a refused size. */
  discard(): void | Promise<void>;
}

/** What survives a restart; the app chooses where (a file, NVM). */
export interface PersistedFirmwareState {
  readonly state: FirmwareStateValue;
  readonly result: FirmwareResultValue;
  /** The Package URI of a pull in progress or done ('' for a push). */
  readonly packageUri: string;
  readonly pkgName: string;
  readonly pkgVersion: string;
  /** Last State Change Time, ms since the epoch. */
  readonly lastStateChange: number;
  /** While an update is deferred (Update Result 11): when it installs without asking, ms since the epoch. */
  readonly deferredUntil?: number;
}

export interface FirmwarePersistence {
  load(): PersistedFirmwareState | undefined | Promise<PersistedFirmwareState | undefined>;
  save(state: PersistedFirmwareState): void | Promise<void>;
}

/** Name and version of a stored package, shown in PkgName (/5/x/6) and PkgVersion (/5/x/7). */
export interface PackageInfo {
  readonly name?: string;
  readonly version?: string;
}

export interface DownloadOptions {
  /** Attempts after the first failed one without progress before Update Result 4 (Connection lost); 3. */
  readonly retries?: number;
  /** Wait before a retry, times the attempt number; 1000 ms. */
  readonly retryDelayMs?: number;
  /** A pull whose link is silent this long counts as dropped; 30000 ms. */
  readonly idleTimeoutMs?: number;
  /** Block size asked of a CoAP server (16..1024); 1024. */
  readonly coapBlockSize?: number;
  /** Options of the UDP/DTLS CoAP endpoint a coap:// or coaps:// pull opens (short ackTimeout in tests). */
  readonly coap?: CoapEndpointOptions;
  /** PSK credentials for coaps:// (without coaps in `protocols` they are not needed). */
  readonly dtls?: Pick<DtlsTransportOptions, 'pskIdentity' | 'pskKey' | 'ciphers' | 'timeoutMs'>;
  /** TLS and RFC 8323 options for coap+tcp:// and coaps+tcp:// (PSK or a CA). */
  readonly stream?: ConnectCoapEndpointOptions;
  /** CA certificates for https:// besides the system ones (a test CA). */
  readonly httpsCa?: string | Uint8Array;
}

export interface FirmwareUpdateOptions {
  readonly storage: FirmwareStorage;
  /**
   * Installs the stored package. Resolving means the new firmware runs (Update Result 1); throwing means
   * it does not (Update Result 8). A device that reboots into the new image may never resolve: after the
   * restart, `persist` and `bootedNewFirmware` decide the result.
   */
  apply(storage: FirmwareStorage): void | Promise<void>;
  /**
   * Asks the device's user whether to defer the update (true defers: Update Result 11, State stays Downloaded). Asked
   * after the Execute of Update is answered, or when an automatic upgrade (/5/x/14) is due, and only while deferring
   * is allowed: Maximum Defer Period (/5/x/13) above 0, Severity (/5/x/11) not Critical, the deadline not reached.
   * Asked again at each Update until the deadline, which installs without asking. Without this hook nothing is deferred.
   */
  defer?(request: DeferRequest): boolean | Promise<boolean>;
  /** Integrity check of a complete package (digest, signature); false or a throw is Update Result 5. */
  verify?(storage: FirmwareStorage): boolean | Promise<boolean>;
  /** PkgName and PkgVersion of a verified package. */
  describe?(storage: FirmwareStorage): PackageInfo | Promise<PackageInfo>;
  /** Largest package accepted, in bytes; a larger one is Update Result 2 (and 4.13 for a push). */
  readonly maxPackageSize: number;
  /** Pull protocols offered in /5/x/8; default coap, coap+tcp, http, https. */
  readonly protocols?: readonly FirmwareProtocol[];
  readonly persist?: FirmwarePersistence;
  /** After a restart found State Updating: did the device come up on the new firmware? Default true. */
  bootedNewFirmware?(): boolean | Promise<boolean>;
  readonly download?: DownloadOptions;
  /** A push with no block for this long is abandoned (Update Result 4); 247000 ms, CoAP's EXCHANGE_LIFETIME. */
  readonly pushTimeoutMs?: number;
  /** Wall clock for Last State Change Time (/5/x/12); Date.now by default. */
  readonly now?: () => number;
}

/** Progress of a download or push: bytes stored so far, and the total when the sender said. */
export interface FirmwareProgress {
  readonly bytes: number;
  readonly total: number | undefined;
}

export interface FirmwareStateChange {
  readonly state: FirmwareStateValue;
  readonly result: FirmwareResultValue;
}

/** Events of a FirmwareUpdater and their argument. */
export interface FirmwareEvents {
  state: FirmwareStateChange;
  progress: FirmwareProgress;
  /** A failure in app code or persistence that the component absorbed (the state says what it meant). */
  error: Error;
}
