// The checks a real LwM2M server makes on Register and Update (LwM2M 1.1 §6.2, transport §6.4): what makes one malformed.
import { ContentFormat, parseLinks, type IncomingRequest } from 'lwm2m-gen/runtime';

/** Binding letters of LwM2M 1.0 to 1.2: UDP, TCP, SMS, Non-IP, and 1.0's queue-mode flag. */
const BINDING = /^[UTSNQ]+$/;
/** The `lwm2m=` enabler version: major.minor. */
const VERSION = /^\d+\.\d+$/;
/** Lifetime in seconds: a positive integer. */
const LIFETIME = /^[1-9]\d{0,9}$/;
/** Endpoint names: any text without control characters (LwM2M restricts no others, spaces included), but a bare `ep=` names nobody. */
const ENDPOINT = /^[^\u0000-\u001f\u007f]+$/;

/** The value of a query item `name=value`, undefined when absent; a bare `name` reads as "". */
export function queryValue(query: readonly string[], name: string): string | undefined {
  for (const q of query) {
    if (q === name) return '';
    if (q.startsWith(`${name}=`)) return q.slice(name.length + 1);
  }
  return undefined;
}

/** The object links of a Register or Update payload, or why they are not valid CoRE link-format. */
function linksProblem(req: IncomingRequest): string | undefined {
  if (req.contentFormat !== undefined && req.contentFormat !== ContentFormat.LINK_FORMAT) {
    return `the payload's Content-Format is ${req.contentFormat}, not link-format (40)`;
  }
  try {
    parseLinks(new TextDecoder('utf-8', { fatal: true }).decode(req.payload));
    return undefined;
  } catch (e) {
    return `the object links are not valid link-format: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function queryProblem(query: readonly string[]): string | undefined {
  const lt = queryValue(query, 'lt');
  if (lt !== undefined && !LIFETIME.test(lt)) return `lt=${lt} is not a lifetime in seconds (a positive integer)`;
  const b = queryValue(query, 'b');
  if (b !== undefined && !BINDING.test(b)) return `b=${b} is not a binding (letters of U, T, S, N, Q)`;
  return undefined;
}

/** Why a Register is malformed (4.00 Bad Request), or undefined when it is well formed. */
export function registerProblem(req: IncomingRequest): string | undefined {
  const ep = queryValue(req.query, 'ep');
  if (ep === undefined) return 'the Register has no endpoint name (ep=)';
  if (!ENDPOINT.test(ep)) return `ep=${JSON.stringify(ep)} is not an endpoint name`;
  const version = queryValue(req.query, 'lwm2m');
  if (version !== undefined && !VERSION.test(version)) return `lwm2m=${version} is not an LwM2M version (major.minor)`;
  const q = queryProblem(req.query);
  if (q) return q;
  if (req.payload.length === 0) return 'the Register carries no object links (its payload is mandatory)';
  return linksProblem(req);
}

/** Why an Update is malformed (4.00 Bad Request), or undefined when it is well formed; its payload is optional. */
export function updateProblem(req: IncomingRequest): string | undefined {
  const q = queryProblem(req.query);
  if (q) return q;
  return req.payload.length === 0 ? undefined : linksProblem(req);
}
