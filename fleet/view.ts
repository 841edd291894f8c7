// The fleet's live terminal view: a redrawn block with a ramp-up progress bar on a TTY, plain lines elsewhere.
import type { FleetSnapshot } from './stats.js';

/** Where the view writes, and whether it may redraw (a TTY) or must print plain lines. */
export interface ViewOutput {
  write(text: string): void;
  readonly isTTY: boolean;
  readonly columns?: number;
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`);
const rate = (v: number): string => (v < 10 ? v.toFixed(1) : v.toFixed(0));

function errorsText(s: FleetSnapshot): string {
  const entries = Object.entries(s.errors);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ${n}`).join(', ');
}

function bar(done: number, total: number, width: number): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(Math.max(0, width - filled))}]`;
}

/** Per-second rates between two snapshots. */
export interface Rates {
  readonly registrationsPerSecond: number;
  readonly notificationsPerSecond: number;
  readonly requestsPerSecond: number;
}

export function ratesBetween(prev: FleetSnapshot | undefined, now: FleetSnapshot): Rates {
  const dt = (now.elapsedMs - (prev?.elapsedMs ?? 0)) / 1000;
  const per = (a: number, b: number): number => (dt > 0 ? (a - b) / dt : 0);
  return {
    registrationsPerSecond: per(now.registrations, prev?.registrations ?? 0),
    notificationsPerSecond: per(now.notifications, prev?.notifications ?? 0),
    requestsPerSecond: per(now.requests, prev?.requests ?? 0),
  };
}

/** The TTY block: one line per figure, the progress bar while devices are still being started. */
export function renderBlock(title: string, s: FleetSnapshot, r: Rates, ramping: boolean, columns = 80): string[] {
  const lines = [title];
  if (ramping) {
    const width = Math.max(10, Math.min(40, columns - 30));
    lines.push(`ramp-up    ${bar(s.started, s.target, width)} ${s.started}/${s.target} started`);
  }
  lines.push(
    `registered ${s.registered}/${s.target}   registrations/s ${rate(r.registrationsPerSecond)}   updates ${s.updates}`,
    `served     ${s.requests} requests   notifications/s ${rate(r.notificationsPerSecond)}`,
    `response   p50 ${ms(s.responseTime.p50)}   p99 ${ms(s.responseTime.p99)}   (${s.responseTime.count} Register/Update/De-register)`,
    `errors     ${errorsText(s)}`,
  );
  return lines.map((l) => (l.length > columns ? l.slice(0, columns) : l));
}

/** One plain line for logs and pipes. */
export function renderLine(s: FleetSnapshot, r: Rates): string {
  return `fleet ${(s.elapsedMs / 1000).toFixed(1)}s started ${s.started}/${s.target} registered ${s.registered} `
    + `reg/s ${rate(r.registrationsPerSecond)} updates ${s.updates} served ${s.requests} notif/s ${rate(r.notificationsPerSecond)} `
    + `p50 ${ms(s.responseTime.p50)} p99 ${ms(s.responseTime.p99)} errors ${errorsText(s)}`;
}

/** Redraws (TTY) or prints (otherwise) the fleet's figures every `intervalMs`. */
export class LiveView {
  readonly #out: ViewOutput;
  readonly #title: string;
  readonly #source: () => FleetSnapshot;
  #prev: FleetSnapshot | undefined;
  #drawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  ramping = true;

  constructor(out: ViewOutput, title: string, source: () => FleetSnapshot) {
    this.#out = out;
    this.#title = title;
    this.#source = source;
  }

  start(intervalMs = this.#out.isTTY ? 500 : 5000): void {
    this.#timer = setInterval(() => this.draw(), intervalMs);
  }

  /** Draws now: replaces the previous block on a TTY, appends a line otherwise. */
  draw(): void {
    const s = this.#source();
    const r = ratesBetween(this.#prev, s);
    this.#prev = s;
    if (!this.#out.isTTY) {
      this.#out.write(`${renderLine(s, r)}\n`);
      return;
    }
    const lines = renderBlock(this.#title, s, r, this.ramping, this.#out.columns ?? 80);
    // A shorter block (the progress bar gone) blanks the lines the longer one left below it.
    while (lines.length < this.#drawn) lines.push('');
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    this.#out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.#drawn = lines.length;
  }

  /** Stops redrawing and draws one last time. */
  stop(): void {
    clearInterval(this.#timer);
    this.draw();
  }

  /** A message below the view (a TTY's next draw goes under it). */
  note(text: string): void {
    this.#out.write(`${text}\n`);
    this.#drawn = 0;
  }
}
