// Per-device names and PSK credentials: templates such as dev-{i}, or a CSV of endpoint,identity,key rows.
import { readFileSync } from 'node:fs';

/** Which fleet option is wrong, and a message saying what to change; never carries a key. */
export class FleetOptionError extends Error {
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.name = 'FleetOptionError';
    this.option = option;
  }
}

/** A device's endpoint name and, on coaps:// and coaps+tcp://, its PSK identity and key. */
export interface DeviceCredentials {
  readonly endpointName: string;
  readonly pskIdentity?: string;
  readonly pskKey?: Uint8Array;
}

const FIELD = /\{(i|x|ep)(?::(\d+))?\}/g;

/**
 * Expands a template for device `index`: `{i}` the index, `{i:6}` zero-padded to 6 digits, `{x:8}` the index in
 * hex padded to 8 digits, `{ep}` the endpoint name (identity and key templates only).
 */
export function expandTemplate(template: string, index: number, endpointName = ''): string {
  return template.replace(FIELD, (_m, field: string, width: string | undefined) => {
    if (field === 'ep') return endpointName;
    const digits = field === 'x' ? index.toString(16) : String(index);
    return width === undefined ? digits : digits.padStart(Number(width), '0');
  });
}

function checkTemplateFields(option: string, template: string, allowEp: boolean): void {
  const stray = template.replace(FIELD, (m) => (m.startsWith('{ep') && !allowEp ? '\u0000' : '')).match(/[{}\u0000]/);
  if (stray) {
    throw new FleetOptionError(option, `${option} "${template}": use {i}, {i:WIDTH} or {x:WIDTH}${allowEp ? ' or {ep}' : ''} (found a stray "${stray[0] === '\u0000' ? '{ep}' : stray[0]}")`);
  }
}

/** Hex text to bytes; throws FleetOptionError naming the option (not the key) when it is not even-length hex. */
export function hexKey(option: string, text: string, where: string): Uint8Array {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
    throw new FleetOptionError(option, `${where}: the PSK key is not hex (an even number of 0-9/a-f digits, e.g. 000102030405060708090a0b0c0d0e0f)`);
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

export interface CredentialOptions {
  /** Endpoint name template (default "dev-{i}"). */
  readonly endpoint?: string;
  /** PSK identity template (default "{ep}" when a key template is given). */
  readonly pskIdentity?: string;
  /** PSK key template, hex after expansion (e.g. "{x:32}"). */
  readonly pskKey?: string;
  /** A CSV file: endpoint,identity,key per line (a header line "endpoint,identity,key" is allowed). */
  readonly csv?: string;
}

/** Credentials of devices firstIndex..firstIndex+count-1, all checked now so that nothing starts with a bad one. */
export function credentialsFor(options: CredentialOptions, firstIndex: number, count: number): (slot: number) => DeviceCredentials {
  if (options.csv !== undefined) return csvCredentials(options.csv, count);
  const endpoint = options.endpoint ?? 'dev-{i}';
  checkTemplateFields('endpoint', endpoint, false);
  const keyTemplate = options.pskKey;
  const identityTemplate = options.pskIdentity ?? (keyTemplate !== undefined ? '{ep}' : undefined);
  if (identityTemplate !== undefined && keyTemplate === undefined) {
    throw new FleetOptionError('psk-key', 'a PSK identity needs a PSK key template too (e.g. --psk-key {x:32})');
  }
  if (identityTemplate !== undefined) checkTemplateFields('psk-identity', identityTemplate, true);
  if (keyTemplate !== undefined) checkTemplateFields('psk-key', keyTemplate, true);
  const names = new Set<string>();
  const at = (slot: number, check: boolean): DeviceCredentials => {
    const index = firstIndex + slot;
    const endpointName = expandTemplate(endpoint, index);
    if (identityTemplate === undefined || keyTemplate === undefined) return { endpointName };
    const pskIdentity = expandTemplate(identityTemplate, index, endpointName);
    const keyText = expandTemplate(keyTemplate, index, endpointName);
    return { endpointName, pskIdentity, pskKey: check ? hexKey('psk-key', keyText, `psk-key of device ${index}`) : Uint8Array.from(Buffer.from(keyText, 'hex')) };
  };
  // Checked up front: two devices with one name would take each other's registration.
  for (let slot = 0; slot < count; slot++) {
    const c = at(slot, true);
    if (c.endpointName === '') throw new FleetOptionError('endpoint', 'the endpoint template makes an empty name');
    if (names.has(c.endpointName)) {
      throw new FleetOptionError('endpoint', `the endpoint template "${endpoint}" gives two devices the name ${c.endpointName}: put {i} in it`);
    }
    names.add(c.endpointName);
  }
  return (slot) => at(slot, false);
}

function csvCredentials(file: string, count: number): (slot: number) => DeviceCredentials {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FleetOptionError('csv', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const rows: DeviceCredentials[] = [];
  const names = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    if (rows.length === 0 && cells[0]?.toLowerCase() === 'endpoint') return;
    const where = `${file}:${i + 1}`;
    const [endpointName, pskIdentity, key] = cells;
    if (!endpointName) throw new FleetOptionError('csv', `${where}: no endpoint name (write endpoint,identity,key)`);
    if (names.has(endpointName)) throw new FleetOptionError('csv', `${where}: endpoint ${endpointName} appears twice`);
    names.add(endpointName);
    if (cells.length === 1) {
      rows.push({ endpointName });
      return;
    }
    if (!pskIdentity || key === undefined) throw new FleetOptionError('csv', `${where}: write endpoint,identity,key (or the endpoint alone)`);
    rows.push({ endpointName, pskIdentity, pskKey: hexKey('csv', key, where) });
  });
  if (rows.length < count) {
    throw new FleetOptionError('csv', `${file} has ${rows.length} device${rows.length === 1 ? '' : 's'}, fewer than the ${count} asked for: add rows or ask for fewer devices`);
  }
  return (slot) => rows[slot]!;
}
