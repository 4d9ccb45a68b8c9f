// Runs what `npm test` does not: the fuzzers at length (`npm run fuzz`; FAIRWAY_FUZZ_RUNS sets
// the count, FAIRWAY_FUZZ_SEED replays a run).

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/fuzz/**/*.fuzz.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 30_000,
    maxWorkers: 1,
    setupFiles: ['test/helpers/setup.ts'],
  },
});
