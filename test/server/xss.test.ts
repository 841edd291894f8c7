// Device-supplied strings in the page are text, never markup: an endpoint named <img src=x onerror=alert(1)> and a value with markup, in chromium.
import { startSimpleDevice, type SimpleDevice } from '../../examples/simple-device/index.js';
import { startServer, type RunningServer } from '../../server/cli.js';
import { loadModels } from '../../server/models.js';
import { eventually, openBrowser, type Browser } from '../support/browser.js';

const EP = '<img src=x onerror=alert(1)>';
const MARKUP = '<b id="injected" onmouseover="alert(2)">bold</b><script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
const fast = { ackTimeout: 200, maxRetransmit: 2, ackRandomFactor: 1 };
let running: RunningServer;
let device: SimpleDevice;
let browser: Browser;

beforeAll(async () => {
  running = await startServer({ host: '127.0.0.1', port: 0, dtlsPort: 0, uiHost: undefined, uiPort: 0, objects: [], psks: [] }, loadModels([]));
  const coap = running.hub.servers[0]!.server.uri();
  device = await startSimpleDevice({ server: coap, endpoint: EP, coap: fast, log: () => {} });
  device.device.manufacturer = MARKUP;
  browser = await openBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await device?.stop();
  await running?.close();
});

test('the endpoint name and a string value show literally, and no script of theirs runs', async () => {
  const { page } = browser;
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // The page as served (the client list is in it before the script runs) holds the name as entities only.
  const html = await (await fetch(running.pageUrl)).text();
  expect(html).not.toContain('<img src=x');
  expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');

  await page.goto(running.pageUrl);
  const item = page.locator('#clients li').first();
  await item.waitFor();
  expect(await item.locator('.ep').textContent()).toBe(EP);
  await item.click();
  await eventually(async () => expect(await page.locator('#client-name').textContent()).toBe(EP));
  await page.locator('[data-instance="/3/0"]').waitFor();
  await page.click('[data-instance="/3/0"] > .bar button[data-op="read"]');
  await eventually(async () => expect(await page.locator('[data-value="/3/0/0"]').textContent()).toBe(MARKUP));
  // Discover answers are links from the device: text too.
  await page.click('[data-instance="/3/0"] > .bar button[data-op="discover"]');
  await eventually(async () => expect(await page.locator('#result').textContent()).toContain('</3/0/0>'));
  await browser.screenshot('xss-literal');

  expect(await page.locator('img').count()).toBe(0);
  expect(await page.locator('#injected').count()).toBe(0);
  expect(await page.locator('script').count()).toBe(1);
  expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
  expect(dialogs).toEqual([]);
}, 60_000);
