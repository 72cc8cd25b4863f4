/** Tables of the results-out capability (issue 6), added to the DB interface by module augmentation. */
import type { Generated } from 'kysely';

export const OUTBOX_STATUSES = ['pending', 'sent', 'acknowledged', 'failed', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
/** `external-ai`: a study sent de-identified to a remote model, delivered by gateway/external-ai's handler (worker.handlers). */
export type OutboxKind = 'sr-stow' | 'hl7-oru' | 'webhook' | 'external-ai';

export interface OutboxTable {
  id: Generated<number>;
  kind: OutboxKind;
  study_uid: string | null;
  /** Unique: the same event enqueued twice is stored once. */
  dedupe_key: string;
  /** Stable identity of what goes out: SR SOP Instance UID, HL7 MSH-10, webhook idempotency key. */
  message_id: string;
  payload: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  acknowledged_at: string | null;
}

export interface Hl7OrdersTable {
  accession: string;
  study_uid: string | null;
  placer_order: string | null;
  order_control: string;
  clinical_indication: string | null;
  priority: string | null;
  ordering_physician: string | null;
  procedure_code: string | null;
  procedure_text: string | null;
  patient_id: string | null;
  message_control_id: string;
  received_at: string;
}

export interface Hl7RejectedTable {
  id: Generated<number>;
  received_at: string;
  remote: string | null;
  control_id: string | null;
  ack_code: string;
  reason: string;
  raw: string;
}

declare module '../db/database.js' {
  interface DB {
    outbox: OutboxTable;
    hl7_orders: Hl7OrdersTable;
    hl7_rejected_messages: Hl7RejectedTable;
  }
}
