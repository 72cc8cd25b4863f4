/** Migrations owned by the measurements capability (issue 15). Versions 1500–1599. */
import type { Migration } from '../db/migration.js';

declare module '../db/database.js' {
  interface DB {
    measurements: MeasurementsTable;
  }
}

/** One row per measurement; a deletion keeps the row (deleted_at/by), so the record shows it was there. */
export interface MeasurementsTable {
  id: string;
  study_uid: string;
  /** MeasurementInput (src/core/measurements/measurement.ts) as JSON. */
  body: string;
  created_by: string;
  created_at: string;
  updated_by: string;
  updated_at: string;
  deleted_by: string | null;
  deleted_at: string | null;
}

export const migrations: Migration[] = [
  {
    version: 1500,
    name: 'measurements',
    async up(db) {
      await db.schema
        .createTable('measurements')
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_by', 'text')
        .addColumn('deleted_at', 'text')
        .addPrimaryKeyConstraint('measurements_pk', ['study_uid', 'id'])
        .execute();
    },
  },
];
