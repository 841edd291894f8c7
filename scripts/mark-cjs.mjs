// Marks dist/cjs as CommonJS, so Node and TypeScript read the CommonJS build under the package's `require` condition.
import { mkdirSync, writeFileSync } from 'node:fs';

mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
