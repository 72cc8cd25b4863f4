import { defineConfig } from 'vitest/config';

// Three projects so that `npm test` runs them in order of cost:
// unit (pure, fast), integration (real Orthanc / MLLP peers / validators), e2e (real Chromium).
// Integration and e2e run one file at a time: the CI box has 2 cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'gateway/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.int.test.ts', 'gateway/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          environment: 'node',
          // TEST_DB=postgres: one throw-away PostgreSQL cluster for the run, a database per stack.
          globalSetup: ['test/postgres-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.ts'],
          environment: 'node',
          globalSetup: ['test/postgres-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
