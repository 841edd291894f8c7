// The project's one typed emitter: on/once/off/next, and a throwing listener re-emitted as 'error' instead of breaking the emitter.
import { TypedEmitter } from '../../runtime/emitter.js';

interface Events {
  tick: number;
  error: Error;
}
class Ticker extends TypedEmitter<Events> {
  fire(n: number): void {
    this.emit('tick', n);
  }
}

test('on returns an unsubscribe; once fires once; next resolves with the next event', async () => {
  const t = new Ticker();
  const seen: string[] = [];
  const off = t.on('tick', (n) => seen.push(`on ${n}`));
  t.once('tick', (n) => seen.push(`once ${n}`));
  const next = t.next('tick');
  t.fire(1);
  off();
  t.fire(2);
  expect(seen).toEqual(['on 1', 'once 1']);
  expect(await next).toBe(1);
});

test("a listener that throws becomes an 'error' event when someone listens, and the others still run", () => {
  const t = new Ticker();
  const errors: string[] = [];
  const later: number[] = [];
  t.on('tick', () => {
    throw new Error('listener bug');
  });
  t.on('tick', (n) => later.push(n));
  t.fire(1); // nobody listens for errors: dropped
  t.on('error', (e) => errors.push(e.message));
  t.fire(2);
  expect(later).toEqual([1, 2]);
  expect(errors).toEqual(['listener bug']);
});
