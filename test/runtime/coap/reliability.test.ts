// Datagram reliability on a manual clock: CON retransmission with backoff, replacing a transmission, message ids, NSTART slots.
import { ManualClock } from '../../../runtime/coap/clock.js';
import { CoapClosedError } from '../../../runtime/coap/errors.js';
import { PeerSlots, Retransmitter } from '../../../runtime/coap/reliability.js';
import { transmissionParameters } from '../../../runtime/coap/transmission.js';

const peer = { address: '10.0.0.1', port: 5683 };

function setup() {
  const clock = new ManualClock();
  const sends: number[] = [];
  const r = new Retransmitter(clock, transmissionParameters({ ackTimeout: 1000, maxRetransmit: 2 }), () => 0, () => sends.push(clock.now()));
  return { clock, sends, r };
}

test('a CON is sent again at 1, 2, 4 × the timeout, then gives up with the number of transmissions', () => {
  const { clock, sends, r } = setup();
  const outcome: string[] = [];
  const t = r.sendConfirmable(peer, r.allocateMessageId(), Uint8Array.of(1), {
    onAck: () => outcome.push('ack'), onReset: () => outcome.push('rst'), onTimeout: (n) => outcome.push(`timeout ${n}`),
  });
  expect(r.live(t)).toBe(true);
  clock.advance(10_000);
  expect(sends).toEqual([0, 1000, 3000]);
  expect(outcome).toEqual(['timeout 3']);
  expect(r.live(t)).toBe(false);
});

test('stop() ends retransmission; a replacement goes out when the old one was due, with its count', () => {
  const { clock, sends, r } = setup();
  const none = { onAck: () => undefined, onReset: () => undefined, onTimeout: () => undefined };
  const first = r.sendConfirmable(peer, r.allocateMessageId(), Uint8Array.of(1), none);
  clock.advance(500);
  r.stop(first);
  const second = r.sendConfirmable(peer, r.allocateMessageId(), Uint8Array.of(2), none, first);
  expect(sends).toEqual([0]);
  clock.advance(500);
  expect(sends).toEqual([0, 1000]);
  expect(second.sent).toBe(2);
  expect(r.stopAll()).toEqual([second]);
  clock.advance(10_000);
  expect(sends).toEqual([0, 1000]);
});

test('message ids are consecutive and skip ids still in flight', () => {
  const { r } = setup();
  const a = r.allocateMessageId();
  expect(r.allocateMessageId()).toBe((a + 1) & 0xffff);
});

test('PeerSlots admits `limit` per peer, queues the rest in order, and fails waiters on close', async () => {
  const slots = new PeerSlots(1);
  const order: string[] = [];
  await slots.acquire('p');
  const second = slots.acquire('p').then(() => order.push('second'));
  const third = slots.acquire('p').then(() => order.push('third'), (e: unknown) => order.push(e instanceof CoapClosedError ? 'closed' : 'other'));
  await slots.acquire('q'); // another peer is not held up
  slots.release('p');
  await second;
  slots.failAll();
  await third;
  expect(order).toEqual(['second', 'closed']);
});
