/** Migrations owned by this capability: pre-read jobs and change-feed cursor (issue 8). Versions 500–599. */
import type { Migration } from '../db/migrations.js';

export const migrations: Migration[] = [];
