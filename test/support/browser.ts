// Debian's chromium driven by playwright-core for the UI tests: a fresh profile, the flags CI needs, screenshots under test-artifacts/ui/.
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
/** Where the screenshots go; CI prints their paths. */
export const ARTIFACTS = resolve('test-artifacts', 'ui');

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Saves a screenshot (the full page unless `fullPage` is false) as test-artifacts/ui/NAME.png, logs and returns its path. */
  screenshot(name: string, fullPage?: boolean): Promise<string>;
  close(): Promise<void>;
}

/** Launches chromium (it must be installed: `apt-get install chromium`, as .ci/run does) with a fresh user-data-dir. */
export async function openBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (CI does this in .ci/run)`);
  const profile = mkdtempSync(join(tmpdir(), 'lwm2m-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context, page,
    screenshot: async (name, fullPage = true) => {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage });
      console.log(`screenshot: ${path}`);
      return path;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs an assertion until it passes (the page updates live), rethrowing its last failure after timeoutMs. */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
