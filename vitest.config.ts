import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that load the whole machine (a browser; npm pack + install + tsc): run after the
 * others, one at a time, so they never slow the timing-sensitive integration tests down.
 */
const HEAVY = ['test/dashboard-browser.test.ts', 'test/package.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...HEAVY],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // Two shared cores: a few files at a time keeps timing-sensitive tests honest.
          maxWorkers: 2,
          setupFiles: ['test/helpers/setup.ts'],
        },
      },
      {
        test: {
          name: 'heavy',
          include: HEAVY,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          setupFiles: ['test/helpers/setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
