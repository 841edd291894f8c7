// Typed errors of the auth module; their messages name the offending key, never a key's or token's value.

/** Why a connection string was refused. */
export type ConnectionStringProblem = 'malformed' | 'missing' | 'empty' | 'duplicate' | 'unknown' | 'invalid-key';

/** A connection string that cannot be used; `field` is the name of the offending part (never its value). */
export class ConnectionStringError extends Error {
  readonly problem: ConnectionStringProblem;
  readonly field: string | undefined;
  constructor(problem: ConnectionStringProblem, message: string, field?: string) {
    super(message);
    this.name = 'ConnectionStringError';
    this.problem = problem;
    this.field = field;
  }
}

/** Arguments to createSasToken that cannot make a token (bad key encoding, bad expiry, empty resource). */
export class SasTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SasTokenError';
  }
}
