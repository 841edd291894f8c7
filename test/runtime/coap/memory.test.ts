// The in-process datagram network: delivery between transports, the filter that loses datagrams, the log.
import { MemoryNetwork } from '../../../runtime/coap/memory.js';

test('delivers a copy on a later microtask, logs every datagram, and loses what the filter refuses', async () => {
  const net = new MemoryNetwork();
  const a = net.createTransport('10.0.0.1', 1);
  const b = net.createTransport('10.0.0.2', 2);
  const got: Array<[number, number]> = [];
  b.onMessage((data, from) => got.push([data[0]!, from.port]));
  const data = Uint8Array.of(7);
  void a.send(data, b.address());
  data[0] = 9;
  expect(got).toEqual([]);
  await Promise.resolve();
  expect(got).toEqual([[7, 1]]);
  net.filter = () => false;
  await a.send(Uint8Array.of(8), b.address());
  await b.close();
  await a.send(Uint8Array.of(9), b.address());
  await Promise.resolve();
  expect(got).toEqual([[7, 1]]);
  expect(net.log.map((l) => l.delivered)).toEqual([true, false, false]);
});
