/** Migrations owned by this capability: SR/HL7/webhook outbox, inbound orders (issue 6). Versions 200–299. */
import type { Migration } from '../db/migration.js';
import './schema.js';

export const migrations: Migration[] = [
  {
    version: 200,
    name: 'outbox',
    async up(db, dialect) {
      await db.schema
        .createTable('outbox')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('study_uid', 'text')
        .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addColumn('acknowledged_at', 'text')
        .execute();
      await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('outbox_study').on('outbox').columns(['study_uid', 'kind']).execute();
    },
  },
  {
    version: 201,
    name: 'inbound HL7 orders and rejected messages',
    async up(db, dialect) {
      await db.schema
        .createTable('hl7_orders')
        .addColumn('accession', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text')
        .addColumn('placer_order', 'text')
        .addColumn('order_control', 'text', (c) => c.notNull())
        .addColumn('clinical_indication', 'text')
        .addColumn('priority', 'text')
        .addColumn('ordering_physician', 'text')
        .addColumn('procedure_code', 'text')
        .addColumn('procedure_text', 'text')
        .addColumn('patient_id', 'text')
        .addColumn('message_control_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('hl7_orders_study').on('hl7_orders').column('study_uid').execute();
      await db.schema
        .createTable('hl7_rejected_messages')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('remote', 'text')
        .addColumn('control_id', 'text')
        .addColumn('ack_code', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('raw', 'text', (c) => c.notNull())
        .execute();
    },
  },
];
