// `lwm2m-gen init DIR`: writes a new device project (package, registry, generated code, device, test, README) from templates/init/.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { parseServerUri } from '../runtime/client/connect.js';
import type { CliIo } from './cli.js';
import { generate, loadObjects } from './generate.js';
import { nameObjects, type NamedObject } from './names.js';
import { GENERATOR_VERSION } from './version.js';

/** The objects every scaffold has: LwM2M Server, Device, Firmware Update. */
const BASE_OBJECTS = [1, 3, 5] as const;
const DEFAULT_SERVER = 'coap://127.0.0.1:5683';
const USAGE = 'usage: lwm2m-gen init DIR [--objects ID,ID…] [--server URI]';

class InitUsageError extends Error {}

interface InitArgs {
  readonly dir: string;
  readonly objects: readonly number[];
  readonly server: string;
}

/** The root of the running lwm2m-gen package (from the sources or from dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lwm2m-gen') return dir;
    dir = dirname(dir);
  }
  throw new Error('lwm2m-gen: cannot find the package root of the running lwm2m-gen');
}

function parseArgs(argv: readonly string[]): InitArgs | 'help' {
  let dir: string | undefined;
  let objects: string | undefined;
  let server = DEFAULT_SERVER;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new InitUsageError(`${a.split('=')[0]} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--objects' || a.startsWith('--objects=')) objects = value();
    else if (a === '--server' || a.startsWith('--server=')) server = value();
    else if (a.startsWith('-')) throw new InitUsageError(`unknown option ${a}`);
    else if (dir === undefined) dir = a;
    else throw new InitUsageError(`one folder only (got ${dir} and ${a})`);
  }
  if (dir === undefined) throw new InitUsageError('no folder given');
  const extra = objects === undefined ? [] : objects.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    if (!/^\d{1,5}$/.test(s)) throw new InitUsageError(`--objects takes object ids (numbers), not "${s}"`);
    return Number(s);
  });
  return { dir, objects: [...new Set([...BASE_OBJECTS, ...extra])].sort((a, b) => a - b), server };
}

/** The DDF file of each object id in the package's own registry/. */
function registryFiles(root: string): Map<number, { file: string; name: string }> {
  const dir = join(root, 'registry');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => join(dir, f)) : [];
  const { objects } = loadObjects(files);
  return new Map(objects.map((o) => [o.model.id, { file: o.source.file, name: o.model.name }]));
}

/**
 * The dependency spec of lwm2m-gen for the new project. Installed from the npm registry: the version range. Anything
 * else (a clone, a `file:` link, a tarball): the running package packed into the project's vendor/ folder, so the
 * project installs exactly the files a published package has and does not depend on where this copy lives.
 */
function dependencyOf(root: string, version: string): { spec: string; tarball?: string } {
  const real = realpathSync(root);
  if (basename(real) === 'lwm2m-gen' && basename(dirname(real)) === 'node_modules') {
    const lock = join(dirname(real), '.package-lock.json');
    const resolved = existsSync(lock)
      ? (JSON.parse(readFileSync(lock, 'utf8')) as { packages?: Record<string, { resolved?: string }> }).packages?.['node_modules/lwm2m-gen']?.resolved
      : undefined;
    if (resolved !== undefined && /^https?:\/\//.test(resolved)) return { spec: `^${version}` };
  }
  if (!existsSync(join(root, 'dist', 'runtime', 'index.js'))) {
    throw new Error(`lwm2m-gen: ${root} is not built; run npm run build there first`);
  }
  const out = mkdtempSync(join(tmpdir(), 'lwm2m-gen-pack-'));
  // --ignore-scripts: the running CLI already is the build, and prepare would rebuild it for every project.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  })) as Array<{ filename: string }>;
  const file = basename(packed[0]!.filename);
  return { spec: `file:vendor/${file}`, tarball: join(out, file) };
}

function projectName(dir: string): string {
  const n = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return n === '' ? 'lwm2m-device' : n;
}

/** Renders every template under templates/init/ (path without .hbs; `gitignore` becomes `.gitignore`, which npm pack drops). */
function renderTemplates(root: string, view: object): Map<string, string> {
  const dir = join(root, 'templates', 'init');
  const out = new Map<string, string>();
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub))) {
      const rel = sub === '' ? entry : `${sub}/${entry}`;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith('.hbs')) {
        const template = Handlebars.compile(readFileSync(join(dir, rel), 'utf8'), { noEscape: true, strict: true });
        out.set(rel.slice(0, -4).replace(/^gitignore$/, '.gitignore'), template(view));
      }
    }
  };
  walk('');
  return out;
}

function classView(o: NamedObject): { baseClass: string; fileName: string; name: string; id: number } {
  return { baseClass: o.baseClass, fileName: o.fileName, name: o.model.name, id: o.model.id };
}

function write(dir: string, files: ReadonlyMap<string, string>): void {
  for (const [rel, text] of files) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

/** Runs `lwm2m-gen init …` (argv without "init") and returns its exit code. */
export async function initMain(argv: readonly string[], io: CliIo): Promise<number> {
  let args: InitArgs;
  try {
    const parsed = parseArgs(argv);
    if (parsed === 'help') {
      io.out(`${USAGE}\n  writes a new device project into DIR (absent or empty): package.json, tsconfig.json, registry/ with\n  objects 1, 3 and 5 (--objects adds more from lwm2m-gen's registry/), generated/, src/, test/, README.md\n  --server URI  the server npm start connects to by default (${DEFAULT_SERVER})`);
      return 0;
    }
    args = parsed;
  } catch (e) {
    if (!(e instanceof InitUsageError)) throw e;
    io.err(`lwm2m-gen init: ${e.message}\n${USAGE}`);
    return 2;
  }
  const root = packageRoot();
  const dir = resolve(args.dir);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    io.err(`lwm2m-gen init: ${args.dir} exists and is not an empty folder; nothing written`);
    return 2;
  }
  const registry = registryFiles(root);
  const unknown = args.objects.filter((id) => !registry.has(id));
  if (unknown.length > 0) {
    const known = [...registry].sort((a, b) => a[0] - b[0]).map(([id, r]) => `${id} (${r.name})`).join(', ');
    io.err(`lwm2m-gen init: unknown object id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; --objects accepts ${known}`);
    return 2;
  }
  try {
    parseServerUri(args.server);
  } catch (e) {
    io.err(`lwm2m-gen init: --server ${e instanceof Error ? e.message : String(e)}; give coap://HOST[:PORT], coaps://, coap+tcp:// or coaps+tcp://`);
    return 2;
  }

  const dependency = dependencyOf(root, GENERATOR_VERSION);
  const sources = args.objects.map((id) => registry.get(id)!);
  const named = new Map(nameObjects(loadObjects(sources.map((s) => s.file)).objects.map((o) => o.model)).map((o) => [o.model.id, o]));
  const view = {
    name: projectName(args.dir),
    dependency: dependency.spec,
    serverLiteral: JSON.stringify(args.server),
    server: classView(named.get(1)!),
    device: classView(named.get(3)!),
    firmware: classView(named.get(5)!),
    objects: [...named.values()].map(classView),
  };
  const files = renderTemplates(root, view);
  mkdirSync(dir, { recursive: true });
  try {
    write(dir, files);
    for (const s of sources) cpSync(s.file, join(dir, 'registry', basename(s.file)));
    if (dependency.tarball) cpSync(dependency.tarball, join(dir, 'vendor', basename(dependency.tarball)));
    const result = generate({ inputs: [join(dir, 'registry')], outDir: join(dir, 'generated') });
    if (!result.ok) throw new Error(`generating from the registry failed: ${result.diagnostics.map((d) => d.message).join('; ')}`);
  } catch (e) {
    // The folder was absent or empty: leave it as it was.
    for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    throw e;
  } finally {
    if (dependency.tarball) rmSync(dirname(dependency.tarball), { recursive: true, force: true });
  }
  const shown = relative(process.cwd(), dir) || '.';
  io.out(`lwm2m-gen: wrote ${shown}/ (objects ${args.objects.join(', ')}; lwm2m-gen from ${dependency.spec}). Next:`);
  io.out(`  cd ${shown} && npm install`);
  io.out('  npm test');
  return 0;
}
