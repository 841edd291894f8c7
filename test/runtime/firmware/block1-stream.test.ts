// The CoAP layer's streaming Block1 hook: blocks reach a sink one by one (our request(), libcoap's new token per block), 4.13 refusals.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Lwm2mError } from '../../../runtime/errors.js';
import { createUdpEndpoint, type Block1Start, type CoapEndpoint, type IncomingRequest } from '../../../runtime/coap/index.js';
import { makePackage } from './fixtures.js';

const run = promisify(execFile);

interface Rig {
  server: CoapEndpoint;
  starts: Block1Start[];
  writes: Array<[number, number, boolean]>;
  received: Uint8Array[];
  requests: IncomingRequest[];
  aborted: number;
  limit: number;
}

async function rig(limit = Infinity): Promise<Rig> {
  const server = await createUdpEndpoint({ address: '127.0.0.1', port: 0, maxBodySize: 1024 });
  const r: Rig = { server, starts: [], writes: [], received: [], requests: [], aborted: 0, limit };
  server.streamBlock1!((start) => {
    if (start.path.join('/') !== '5/0/0') return undefined;
    r.starts.push(start);
    return {
      write: (offset, bytes, more) => {
        if (offset + bytes.length > r.limit) throw new Lwm2mError('4.13', 'too large');
        r.writes.push([offset, bytes.length, more]);
        r.received.push(bytes.slice());
      },
      abort: () => { r.aborted++; },
    };
  });
  server.serve((req) => {
    r.requests.push(req);
    return { code: req.method === 'PUT' ? '2.04' : '2.05', payload: new Uint8Array(0) };
  });
  return r;
}

const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

describe('streamBlock1', () => {
  test('blocks of a matching request go to the sink; the handler sees an empty payload and the length', async () => {
    const r = await rig();
    const client = await createUdpEndpoint({ address: '127.0.0.1', blockSize: 64, maxBodySize: 1 << 20 });
    try {
      // Larger than the server's maxBodySize: streaming is what makes it possible.
      const body = makePackage(3000);
      const res = await client.request(r.server.address(), { method: 'PUT', path: ['5', '0', '0'], contentFormat: 42, payload: body });
      expect(res.code).toBe('2.04');
      expect(concat(r.received)).toEqual(Buffer.from(body));
      expect(r.writes[0]).toEqual([0, 64, true]);
      expect(r.writes.at(-1)).toEqual([2944, 56, false]);
      expect(r.starts).toHaveLength(1);
      expect(r.starts[0]).toMatchObject({ method: 'PUT', contentFormat: 42, size1: 3000 });
      expect(r.requests).toHaveLength(1);
      expect(r.requests[0]!.payload.length).toBe(0);
      expect(r.requests[0]!.streamed).toBe(3000);
      // Other paths are reassembled as before (and limited by maxBodySize).
      const other = await client.request(r.server.address(), { method: 'PUT', path: ['3', '0', '1'], contentFormat: 42, payload: makePackage(500) });
      expect(other.code).toBe('2.04');
      expect(r.requests[1]!.payload.length).toBe(500);
      expect(r.requests[1]!.streamed).toBeUndefined();
    } finally {
      await client.close();
      await r.server.close();
    }
  });

  test('libcoap coap-client -b 64 (a new token per block) streams the file', async () => {
    const r = await rig();
    const dir = await mkdtemp(join(tmpdir(), 'fw-b1-'));
    try {
      const body = makePackage(2000);
      await writeFile(join(dir, 'fw.bin'), body);
      const port = r.server.address().port;
      await run('coap-client-notls', ['-m', 'put', '-b', '64', '-t', '42', '-B', '10', '-f', join(dir, 'fw.bin'), `coap://127.0.0.1:${port}/5/0/0`]);
      expect(concat(r.received)).toEqual(Buffer.from(body));
      expect(r.writes.length).toBe(Math.ceil(2000 / 64));
      expect(r.requests.map((q) => q.streamed)).toEqual([2000]);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await r.server.close();
    }
  });

  test('a sink that refuses with 4.13 ends the transfer with 4.13', async () => {
    const r = await rig(200);
    const client = await createUdpEndpoint({ address: '127.0.0.1', blockSize: 64 });
    try {
      const res = await client.request(r.server.address(), { method: 'PUT', path: ['5', '0', '0'], contentFormat: 42, payload: makePackage(1000) });
      expect(res.code).toBe('4.13');
      expect(r.writes).toHaveLength(3);
      expect(r.requests).toHaveLength(0);
    } finally {
      await client.close();
      await r.server.close();
    }
  });
});
