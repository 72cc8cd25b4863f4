/**
 * The shape of one schema migration. Its own module so that each capability's migrations.ts can be
 * typed with it without importing the registry (db/migrations.ts), which imports them: no cycle.
 */
import type { Kysely } from 'kysely';
import type { DB, Dialect } from './database.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<DB>, dialect: Dialect): Promise<void>;
}
