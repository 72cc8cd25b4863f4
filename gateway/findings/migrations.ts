/** Migrations owned by this capability: findings verdicts and sign-off (issue 4). Versions 100–199. */
import type { Migration } from '../db/migrations.js';

export const migrations: Migration[] = [];
