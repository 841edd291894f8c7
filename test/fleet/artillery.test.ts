// The Artillery engine through a real `artillery run` of examples/fleet/scenario.yml against the test server, read back from Artillery's --output report.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestLwm2mServer } from '../../testing/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = path.join(ROOT, 'examples/fleet');
const ARTILLERY = path.join(EXAMPLE, 'node_modules/.bin/artillery');

interface Report {
  aggregate: {
    counters: Record<string, number>;
    summaries: Record<string, { count: number; min: number; p50: number; p99: number }>;
  };
}

/** `artillery run --target TARGET --output FILE scenario.yml` in examples/fleet; resolves with the report and the output. */
function artilleryRun(target: string): Promise<{ code: number | null; output: string; report: Report }> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'artillery-')), 'report.json');
  const proc = spawn(ARTILLERY, ['run', '--target', target, '--output', out, 'scenario.yml'], {
    cwd: EXAMPLE, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true' },
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => { output += c.toString(); });
  proc.stderr.on('data', (c: Buffer) => { output += c.toString(); });
  return new Promise((resolve) => proc.once('exit', (code) => {
    resolve({ code, output, report: JSON.parse(readFileSync(out, 'utf8')) as Report });
  }));
}

let server: TestLwm2mServer;
beforeAll(() => {
  // Artillery (and its AWS SDKs) stays out of the root package: the example has its own lock, installed on first use.
  // npm runs none of its dependencies' install scripts (allowScripts): no browser download.
  if (!existsSync(ARTILLERY)) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: EXAMPLE, stdio: 'inherit', timeout: 600_000 });
    if (r.status !== 0) throw new Error('npm ci in examples/fleet failed');
  }
  // The engine runs lwm2m-gen/fleet from dist/, as an installed package does.
  if (!existsSync(path.join(ROOT, 'dist/fleet/artillery.js'))) {
    const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
}, 900_000);
beforeEach(async () => {
  server = await TestLwm2mServer.start();
});
afterEach(() => server.close());

describe('the lwm2m Artillery engine', () => {
  it('runs the example scenario: every virtual user registers, updates and de-registers, and the report has the figures', async () => {
    const { code, output, report } = await artilleryRun(`coap://127.0.0.1:${server.address().port}`);
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    const registers = server.log.filter((e) => e.kind === 'register');
    expect(registers).toHaveLength(10);
    for (const r of registers) {
      expect(r.code).toBe('2.01');
      expect(r.query.find((q) => q.startsWith('ep='))).toMatch(/^ep=art-[0-9a-f]{6}-\d{4}$/);
      expect(r.query).toContain('lt=60');
    }
    expect(new Set(registers.map((r) => r.query[0])).size).toBe(10);
    expect(server.log.filter((e) => e.kind === 'update' && e.code === '2.04')).toHaveLength(10);
    expect(server.log.filter((e) => e.kind === 'deregister' && e.code === '2.02')).toHaveLength(10);
    expect(server.registrations.size).toBe(0);

    const { counters, summaries } = report.aggregate;
    expect(counters).toMatchObject({
      'vusers.created': 10, 'vusers.completed': 10, 'vusers.failed': 0,
      'lwm2m.registrations': 10, 'lwm2m.updates': 10, 'lwm2m.deregistrations': 10,
    });
    expect(Object.keys(counters).filter((k) => k.startsWith('errors.') || k.startsWith('lwm2m.errors'))).toEqual([]);
    expect(summaries['lwm2m.response_time']!.count).toBe(30);
    for (const op of ['register', 'update', 'deregister']) {
      const s = summaries[`lwm2m.response_time.${op}`]!;
      expect(s.count).toBe(10);
      expect(s.p50).toBeGreaterThan(0);
      expect(s.p99).toBeGreaterThanOrEqual(s.p50);
    }
  }, 180_000);

  it('refuses a configuration that cannot work before any device starts, and says what to change', async () => {
    const { report, output } = await artilleryRun(`coaps://127.0.0.1:${server.address().port}`);
    expect(output).toContain('lwm2m engine: config pskKey: coaps:// needs config.engines.lwm2m.pskKey (hex)');
    expect(report.aggregate.counters).toMatchObject({ 'vusers.created': 10, 'vusers.failed': 10, 'errors.config pskKey': 10 });
    expect(report.aggregate.counters['lwm2m.registrations']).toBeUndefined();
    expect(server.log).toHaveLength(0);
  }, 180_000);
});
