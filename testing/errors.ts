// Typed errors of lwm2m-gen/testing: a refused request (code and path), a malformed registration, a registration that never came.
import type { ResponseCode } from 'lwm2m-gen/runtime';
import type { RejectedRegistration } from './server.js';

/** A device answered a request with an error code (4.xx, 5.xx), or with a success code the operation does not use. */
export class RequestError extends Error {
  /** The response code, e.g. "4.04". */
  readonly code: ResponseCode;
  /** The LwM2M path the request addressed, e.g. "/3/0/9". */
  readonly path: string;
  /** The operation, e.g. "read". */
  readonly operation: string;
  /** The diagnostic payload of the response, when the device sent one. */
  readonly diagnostic: string | undefined;

  constructor(operation: string, path: string, code: ResponseCode, diagnostic?: string) {
    super(`${operation} ${path}: the device answered ${code}${diagnostic ? ` (${diagnostic})` : ''}`);
    this.name = 'RequestError';
    this.operation = operation;
    this.path = path;
    this.code = code;
    this.diagnostic = diagnostic;
  }
}

/** The device's answer could not be read as the model says it should be (wrong format, values of the wrong type). */
export class ResponseFormatError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ResponseFormatError';
    this.path = path;
  }
}

/** A Register from the awaited endpoint was refused with 4.00 as malformed. */
export class MalformedRegistrationError extends Error {
  readonly rejection: RejectedRegistration;
  constructor(rejection: RejectedRegistration) {
    super(`the Register of ${rejection.endpoint ?? 'an unnamed endpoint'} was refused with 4.00: ${rejection.reason}`);
    this.name = 'MalformedRegistrationError';
    this.rejection = rejection;
  }
}

/** No registration of the awaited endpoint came in time. */
export class RegistrationTimeoutError extends Error {
  readonly endpoint: string;
  constructor(endpoint: string, timeoutMs: number) {
    super(`${endpoint} did not register within ${timeoutMs} ms`);
    this.name = 'RegistrationTimeoutError';
    this.endpoint = endpoint;
  }
}
