#!/usr/bin/env node
// Fairway runs its TypeScript sources directly with Node's built-in type stripping
// (Node >= 22.18 / 23.6): no build step, nothing stale to forget.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18) || !process.features?.typescript) {
  process.stderr.write(
    `fairway needs Node.js >= 22.18 with type stripping (this is ${process.version}).\n` +
      `In a clone of the repository, run it through npm (npx fairway ...), which uses the pinned Node 24.\n`,
  );
  process.exit(1);
}
await import('../src/main.ts');
