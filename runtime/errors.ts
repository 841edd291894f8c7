// Typed errors of the runtime: each carries the LwM2M path it concerns and the CoAP response code it maps to.
import { CoapResponseError } from './coap/errors.js';
import { formatPath, type Lwm2mPath } from './model.js';

/** CoAP response codes the runtime answers with, as "class.detail" strings. */
export type CoapCode =
  | '4.00' | '4.01' | '4.02' | '4.03' | '4.04' | '4.05' | '4.06' | '4.08' | '4.12' | '4.13' | '4.15'
  | '5.00' | '5.01' | '5.03';

/** An error with the LwM2M path it concerns; the CoAP layer answers its code (it is a CoapResponseError). */
export class Lwm2mError extends CoapResponseError {
  declare readonly code: CoapCode;
  readonly path: Lwm2mPath | undefined;
  constructor(code: CoapCode, message: string, path?: Lwm2mPath) {
    super(code, path ? `${formatPath(path)}: ${message}` : message);
    this.path = path;
  }
}

/** A value that does not fit the resource's type or range (4.00 Bad Request). */
export class ValueError extends Lwm2mError {
  constructor(message: string, path?: Lwm2mPath) {
    super('4.00', message, path);
  }
}
/** A malformed request or payload (4.00 Bad Request). */
export class BadRequestError extends Lwm2mError {
  constructor(message: string, path?: Lwm2mPath) {
    super('4.00', message, path);
  }
}
/** No such object, instance, resource or resource instance (4.04 Not Found). */
export class NotFoundError extends Lwm2mError {
  constructor(message: string, path?: Lwm2mPath) {
    super('4.04', message, path);
  }
}
/** The operation is not allowed on that target (4.05 Method Not Allowed). */
export class MethodNotAllowedError extends Lwm2mError {
  constructor(message: string, path?: Lwm2mPath) {
    super('4.05', message, path);
  }
}
/** The requested Accept format is not supported for that target (4.06 Not Acceptable). */
export class NotAcceptableError extends Lwm2mError {
  constructor(message: string, path?: Lwm2mPath) {
    super('4.06', message, path);
  }
}
/** The request's Content-Format is not supported (4.15 Unsupported Content-Format). */
export class UnsupportedContentFormatError extends Lwm2mError {
  constructor(message: string, path?: Lwm2mPath) {
    super('4.15', message, path);
  }
}
