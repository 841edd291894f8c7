// Where the package's own files are (the default DDFs, the UI's static files), from the sources or from dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder: the nearest folder above this module holding registry/ and server/ui/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'server', 'ui'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the lwm2m-gen package folder (server/ui) above the server module');
    dir = up;
  }
}

/** The folder of the web UI's static files. */
export function uiFolder(): string {
  return join(packageRoot(), 'server', 'ui');
}

/** The project's own DDFs (LwM2M Server, Device, Firmware Update, Config): named even without --objects. */
export function defaultObjectsFolder(): string {
  return join(packageRoot(), 'registry');
}
