// The length-prefixed framing (2016 Azure DM preview) on a plain TCP socket pair: frames split and joined across chunks, size limit.
import * as net from 'node:net';
import { LengthPrefixedTransport } from '../../../runtime/coap/stream-datagram.js';

test('each send is one frame; frames arriving in pieces or together come out whole; over 65535 bytes is refused', async () => {
  let accepted!: net.Socket;
  const server = net.createServer((s) => { accepted = s; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  await new Promise((r) => setTimeout(r, 20));
  const sender = new LengthPrefixedTransport(socket);
  const receiver = new LengthPrefixedTransport(accepted);
  const got: number[][] = [];
  receiver.onMessage((data, peer) => {
    got.push([...data]);
    expect(peer).toEqual(receiver.remote());
  });
  try {
    await sender.send(Uint8Array.of(1, 2, 3), sender.remote());
    await sender.send(new Uint8Array(0), sender.remote());
    // Two frames in one chunk and one frame split across two chunks, written raw.
    socket.write(Buffer.from([0, 1, 7, 0, 2, 8]));
    socket.write(Buffer.from([9, 0]));
    socket.write(Buffer.from([1, 5]));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([[1, 2, 3], [], [7], [8, 9], [5]]);
    await expect(sender.send(new Uint8Array(70_000), sender.remote())).rejects.toThrow(RangeError);
  } finally {
    await sender.close();
    await receiver.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
