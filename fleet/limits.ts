// The operating system limits a fleet runs into: open files (one per device) and ephemeral ports per source address.
import { readFileSync } from 'node:fs';

/** Files a fleet needs besides its devices' sockets (stdio, the event loop, DNS, a log file, …). */
export const SPARE_FILES = 64;

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The soft limit on open files of this process (Linux /proc), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readProc('/proc/self/limits') ?? '');
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** How many ephemeral ports one source address offers (Linux ip_local_port_range), or undefined where unknown. */
export function ephemeralPortCount(): number | undefined {
  const m = /^(\d+)\s+(\d+)/.exec(readProc('/proc/sys/net/ipv4/ip_local_port_range') ?? '');
  return m ? Number(m[2]) - Number(m[1]) + 1 : undefined;
}
