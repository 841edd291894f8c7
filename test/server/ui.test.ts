// The UI in a real browser: `lwm2m-gen server` and the example device as processes (from dist/), chromium through playwright-core.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM, CHROMIUM_ARGS, eventually, openBrowser, type Browser } from '../support/browser.js';
import { startChild, type Child } from '../support/child.js';

const ROOT = resolve('.');
const EP = 'ui-device-1';
let server: Child;
let device: Child;
let browser: Browser;
let uiUrl: string;

beforeAll(async () => {
  for (const built of ['dist/generator/cli.js', 'dist/server/cli.js', 'dist/examples/simple-device/main.js']) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first (the server and the device run from dist/)`);
  }
  server = startChild(process.execPath, ['bin/lwm2m-gen.js', 'server', '--port', '0', '--ui-port', '0'], ROOT);
  const started = await server.line(/UI at /);
  const coap = /LwM2M on (coap:\/\/[\d.]+:\d+)/.exec(started)![1]!;
  uiUrl = /UI at (\S+)/.exec(started)![1]!;
  // `npm run device` runs exactly this: the example device from dist/.
  device = startChild(process.execPath, ['dist/examples/simple-device/main.js', '--server', coap, '--endpoint', EP, '--interval', '1'], ROOT);
  await device.line(/registered as/);
  browser = await openBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await device?.stop();
  await server?.stop();
});

test('headless chromium --dump-dom sees the device in the rendered page', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'lwm2m-ui-dump-'));
  try {
    // --timeout stops loading after 5 s (the event stream never ends) and dumps the DOM as the script left it.
    const { stdout } = await promisify(execFile)(CHROMIUM, [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--timeout=5000', '--dump-dom', uiUrl],
      { timeout: 60_000 });
    expect(stdout).toContain(`data-endpoint="${EP}"`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}, 60_000);

test('reads /3/0, writes UTC Offset, charts an observed value, pushes firmware until Firmware Version is new', async () => {
  const { page } = browser;
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(uiUrl);
  const client = page.locator(`#clients li[data-endpoint="${EP}"]`);
  await client.waitFor();
  expect(await client.locator('.ep').textContent()).toBe(EP);
  await browser.screenshot('1-clients');

  // Read /3/0: every value lands in its named row.
  await client.click();
  await page.locator('[data-instance="/3/0"]').waitFor();
  await page.click('[data-instance="/3/0"] > .bar button[data-op="read"]');
  await eventually(async () => expect(await page.locator('[data-value="/3/0/0"]').textContent()).toBe('lwm2m-gen'));
  expect(await page.locator('tr[data-resource="/3/0/0"] td').nth(1).textContent()).toContain('Manufacturer');
  expect(await page.locator('#result').getAttribute('data-code')).toBe('2.05');
  await browser.screenshot('2-read-device');

  // Write UTC Offset, then read it back.
  await page.fill('[data-input="/3/0/14"]', 'UTC+02:00');
  await page.click('tr[data-resource="/3/0/14"] button[data-op="write"]');
  await eventually(async () => expect(await page.locator('#result').getAttribute('data-code')).toBe('2.04'));
  await page.click('tr[data-resource="/3/0/14"] button[data-op="read"]');
  await eventually(async () => expect(await page.locator('[data-value="/3/0/14"]').textContent()).toBe('UTC+02:00'));
  // A value the model refuses is not sent: the page says why.
  await page.fill('[data-input="/3/0/13"]', 'yesterday');
  await page.click('tr[data-resource="/3/0/13"] button[data-op="write"]');
  await eventually(async () => expect(await page.locator('#result').textContent()).toMatch(/refused \(400\)[^]*"yesterday" is not a time/));
  await browser.screenshot('3-write-utc-offset');

  // Observe Current Time (it ticks every second): the chart gains points and its last value changes.
  await page.click('button[data-op="observe"][data-path="/3/0/13"]');
  const chart = page.locator('[data-chart="/3/0/13"]');
  await chart.waitFor();
  const firstLast = await chart.locator('text').nth(2).textContent();
  await eventually(async () => expect(Number(await chart.locator('svg').getAttribute('data-points'))).toBeGreaterThanOrEqual(3), 15_000);
  expect(await chart.locator('text').nth(2).textContent()).not.toBe(firstLast);
  await browser.screenshot('4-observe-chart');
  // The window as a person sees it, from the top: docs/server-ui.png is a copy of this one.
  await page.evaluate('window.scrollTo(0, 0)');
  await browser.screenshot('server-ui', false);
  await page.click('button[data-op="cancel-observe"][data-path="/3/0/13"]');
  await eventually(async () => expect(await page.locator('[data-chart="/3/0/13"]').count()).toBe(0));

  // Firmware push: Block1 to /5/0/0, Update, until Firmware Version is the package's.
  await page.setInputFiles('#fw-file', { name: 'fw-2.0.0.bin', mimeType: 'application/octet-stream', buffer: Buffer.concat([Buffer.from('version=2.0.0\n'), Buffer.alloc(5000, 0xa5)]) });
  await page.click('#fw-push');
  await eventually(async () => expect(await page.locator('#fw-status').getAttribute('data-phase')).toBe('done'), 60_000);
  expect(await page.locator('#fw-status dd[data-key="Firmware Version (/3/0/3)"]').textContent()).toBe('2.0.0');
  expect(await page.locator('#fw-status dd[data-key="Update Result (/5/0/5)"]').textContent()).toMatch(/^1 Success/);
  await browser.screenshot('5-firmware-pushed');

  // The log: every request with its code and time, filterable per client.
  await page.selectOption('#log-filter', EP);
  const rows = page.locator('#log tr');
  expect(await rows.count()).toBeGreaterThan(5);
  expect(await page.locator(`#log tr:not([data-endpoint="${EP}"])`).count()).toBe(0);
  expect(await page.locator('#log').textContent()).toMatch(/write\s*\/5\/0\/0\s*2\.04/);
  await browser.screenshot('6-log');
  expect(errors).toEqual([]);
}, 120_000);
