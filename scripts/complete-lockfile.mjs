// Adds lock entries for platform-specific optional packages the npm registry mirror here does not serve.
// npm leaves them out of package-lock.json when it cannot fetch them, and `npm ci` then refuses the lock as
// out of sync. Recording them as optional (no resolved URL) lets `npm ci` skip them as it would on another
// platform. Run after `npm install` changes the lock: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const added = [];
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    if (lock.packages[`node_modules/${name}`] || lock.packages[`${key}/node_modules/${name}`]) continue;
    lock.packages[`node_modules/${name}`] = { version, optional: true };
    added.push(name);
  }
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length} optional entries: ${added.join(', ')}` : 'lock already complete');
