/** Migrations owned by this capability: SR/HL7/webhook outbox (issue 6). Versions 200–299. */
import type { Migration } from '../db/migrations.js';

export const migrations: Migration[] = [];
