/** Migrations owned by this capability: policy, rollout, AI disable (issue 7). Versions 400–499. */
import type { Migration } from '../db/migrations.js';

export const migrations: Migration[] = [];
