// `npm run build` (run by `npm pack` through prepack): dist/ for the package. tsc compiles src/
// (tests excluded, tsconfig.build.json) to JavaScript with declarations, rewriting relative
// `.ts` imports to `.js`; the dashboard's static files are copied next to the module that serves
// them; declaration files get `.js` specifiers too, for TypeScript versions that do not map
// `.ts` ones. Development runs src/ directly and never needs this.

import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('build: tsc failed\n');
  process.exit(r.status ?? 1);
}
cpSync(join(root, 'src/admin/dashboard'), join(dist, 'admin/dashboard'), { recursive: true });

let declarations = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2');
  if (fixed !== text) writeFileSync(file, fixed);
  declarations++;
}
process.stderr.write(`build: dist/ written (${declarations} declaration files)\n`);
