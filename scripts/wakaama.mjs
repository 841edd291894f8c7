// Builds Eclipse Wakaama's example LwM2M bootstrap server, an independent peer for tests, from the Wakaama sources that the npm package node-red-contrib-lwm2m ships.
//
// Usage: node scripts/wakaama.mjs        prints the path of the built `bootstrap_server`, building it first if needed.
//
// No LwM2M bootstrap server can be installed on these machines from Debian (libcoap has none) and Leshan needs a
// download from Maven Central. node-red-contrib-lwm2m 2.12.3 (Apache-2.0) carries a copy of Wakaama (EPL-2.0/EDL-1.0)
// in deps/wakatiwai/deps/wakaama; npm serves it, so it is fetched with `npm pack`, checked against the registry's
// sha512 below, and its examples/bootstrap_server built with cmake and the C compiler. Nothing of it is committed:
// the binary lives in node_modules/.cache, rebuilt by a clean clone. Needs cmake and a C compiler (.ci/run installs them).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = 'node-red-contrib-lwm2m@2.12.3';
const INTEGRITY = 'sha512-3B8sePuwPJbGJ2+P5JHLRyuW2n8wAyLI/5NG9j+b+kT21MPNtIk0ExzY8hK4+QPtz+G62bpWhgxGFWvVQ0/n8A==';
const WAKAAMA = 'package/deps/wakatiwai/deps/wakaama';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = process.env.LWM2M_WAKAAMA_DIR ?? join(root, 'node_modules/.cache/wakaama-2.12.3');
const binary = join(cacheDir, 'bootstrap_server');

function run(command, args, cwd) {
  try {
    return execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed${err.code === 'ENOENT' ? ` (${command} is not installed)` : ''}:\n${output}`);
  }
}

function build() {
  const work = mkdtempSync(join(tmpdir(), 'wakaama-'));
  try {
    run('npm', ['pack', PACKAGE, '--pack-destination', work, '--silent'], work);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack ${PACKAGE} wrote no tarball`);
    const digest = `sha512-${createHash('sha512').update(readFileSync(join(work, tarball))).digest('base64')}`;
    if (digest !== INTEGRITY) throw new Error(`${tarball} does not match the registry's integrity ${INTEGRITY} (got ${digest})`);
    run('tar', ['xzf', tarball, `${WAKAAMA}/core`, `${WAKAAMA}/examples`], work);
    const out = join(work, 'build');
    mkdirSync(out);
    run('cmake', ['-S', join(work, WAKAAMA, 'examples/bootstrap_server'), '-B', out, '-DCMAKE_BUILD_TYPE=Release'], work);
    run('cmake', ['--build', out, '-j', '2'], work);
    mkdirSync(cacheDir, { recursive: true });
    // A rename, so a test that finds the file finds all of it.
    renameSync(join(out, 'bootstrap_server'), binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  if (!existsSync(binary)) build();
  process.stdout.write(`${binary}\n`);
} catch (err) {
  process.stderr.write(`scripts/wakaama.mjs: cannot build Wakaama's bootstrap server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
