/**
 * Vitest global setup of the integration (and e2e) projects: with TEST_DB=postgres, one throw-away
 * PostgreSQL cluster for the whole run (scripts/lib/postgres.ts); each startStack() creates its own
 * database in it (test/harness.ts). Without TEST_DB=postgres it does nothing.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../scripts/lib/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres:// URL of the run's cluster (its maintenance database), when TEST_DB=postgres */
    pgAdminUrl: string | undefined;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DB !== 'postgres') {
    project.provide('pgAdminUrl', undefined);
    return;
  }
  const t0 = Date.now();
  const cluster = await startPostgres();
  console.log(`[test] PostgreSQL cluster on 127.0.0.1:${cluster.port} (${Date.now() - t0} ms)`);
  project.provide('pgAdminUrl', cluster.url());
  return async () => {
    await cluster.stop();
  };
}
