import { defineConfig } from 'vitest/config';

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
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // Two shared cores: a few files at a time keeps timing-sensitive tests honest.
          maxWorkers: 2,
          setupFiles: ['test/helpers/setup.ts'],
        },
      },
    ],
  },
});
