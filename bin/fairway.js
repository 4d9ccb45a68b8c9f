#!/usr/bin/env node
// The `fairway` command. The installed package runs the compiled dist/ (plain JavaScript: any
// Node >= 22.19, no type stripping). A clone of the repository runs the TypeScript sources in
// src/ directly with Node's type stripping, so development has no build step to forget; npm
// scripts and npx use the pinned Node 24. `npm pack` builds dist/ (prepack), and
// test/package.test.ts installs the packed tarball and runs it, so the two stay in step.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
const fail = (message) => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};
if (major < 22 || (major === 22 && minor < 19)) fail(`fairway needs Node.js >= 22.19 (this is ${process.version}).`);

const source = new URL('../src/main.ts', import.meta.url);
const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(source)) {
  if (!process.features?.typescript) {
    fail(
      `fairway runs its TypeScript sources in a clone of the repository, which needs Node's type stripping (this is ${process.version}).\n` +
        `Run it through npm (npx fairway ...), which uses the pinned Node 24.`,
    );
  }
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  fail('fairway: neither src/main.ts nor dist/main.js is here: reinstall the package (or run npm run build).');
}
