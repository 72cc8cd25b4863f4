/** Migrations owned by this capability: model registry and AI results (issue 5). Versions 300–399. */
import type { Migration } from '../db/migration.js';

export const migrations: Migration[] = [];
