/**
 * The contract other capabilities call INSIDE their own database transaction: the outbound messages
 * an event causes are written in the same transaction as the event, so either both exist or neither.
 * Identities are fixed here, before any delivery try: SR SOP/Series Instance UIDs and HL7 MSH-10.
 * The worker (worker.ts) delivers later, with retries; nothing here talks to the network.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { Finding, ModelRef } from '../../src/core/findings/finding.js';
import type { SessionUser } from '../../src/core/auth/roles.js';
import type { Measurement } from '../../src/core/measurements/measurement.js';
import { newUid } from '../../src/core/sr/uid.js';
import type { OutboxKind } from './schema.js';
import './schema.js';
import '../findings/migrations.js';

export interface SrPayload {
  type: 'sr';
  kind: 'ai' | 'verified';
  studyInstanceUID: string;
  sopInstanceUID: string;
  seriesInstanceUID: string;
  findings: Finding[];
  model: ModelRef;
  contentDateTime: string;
  signer?: { username: string; name: string; at: string };
  predecessor?: { seriesInstanceUID: string; sopInstanceUID: string };
  /** The signed report's text (verified only): TEXT items in the SR's Qualitative Evaluations. */
  report?: { findings: string[]; impression: string };
  /** The radiologist's live measurements at sign-off (verified only): Measurement Groups observed by the signer. */
  measurements?: Measurement[];
}

export interface OruPayload {
  type: 'oru';
  status: 'P' | 'F' | 'C';
  controlId: string;
  studyInstanceUID: string;
  findings: Finding[];
  model: ModelRef;
  at: string;
  priority?: string;
  signer?: { id: string; name: string; at: string };
  reportText?: string;
  impression?: string;
}

export interface WebhookPayload {
  type: 'webhook';
  url: string;
  body: unknown;
  idempotencyKey: string;
  /** A FHIR R4 results bundle to build at delivery (patient and study attributes from the PACS), instead of `body`. */
  fhir?: FhirPayload;
}

/** What the FHIR DiagnosticReport bundle is built from (src/core/fhir/diagnosticReport.ts); ids fixed here, so a retry sends the same bundle. */
export interface FhirPayload {
  studyInstanceUID: string;
  findings: Finding[];
  model: ModelRef;
  reader: { username: string; name: string };
  signedAt: string;
  status: 'final' | 'corrected';
  reportText?: string;
  impression?: string;
  ids: { report: string; study: string; device: string; practitioner: string; observations: Record<string, string> };
}

export type OutboxPayload = SrPayload | OruPayload | WebhookPayload;

/** MSH-10: 20 characters (the v2.3 limit, so older receivers take it too), unique, never reused. */
export function newControlId(): string {
  return `RS${crypto.randomBytes(9).toString('hex')}`;
}

async function enqueue(trx: Kysely<DB>, kind: OutboxKind, studyUID: string | null, dedupeKey: string, messageId: string, payload: OutboxPayload): Promise<void> {
  const now = new Date().toISOString();
  await trx
    .insertInto('outbox')
    .values({
      kind,
      study_uid: studyUID,
      dedupe_key: dedupeKey,
      message_id: messageId,
      payload: JSON.stringify(payload),
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
      created_at: now,
      updated_at: now,
      sent_at: null,
      acknowledged_at: null,
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
}

/** The model an SR or ORU names: the AI's (not the radiologist's own additions). */
function modelOf(findings: Finding[], fallback?: ModelRef): ModelRef {
  return fallback ?? findings.find((f) => f.source !== 'radiologist')?.model ?? findings[0]?.model ?? { name: 'none', version: '0', manufacturer: 'Reading Station Demo' };
}

/** The latest SR enqueued for a study: what a new verified SR supersedes. */
async function latestSr(trx: Kysely<DB>, studyUID: string): Promise<SrPayload | undefined> {
  const row = await trx.selectFrom('outbox').select(['payload']).where('kind', '=', 'sr-stow').where('study_uid', '=', studyUID).orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row ? (JSON.parse(row.payload) as SrPayload) : undefined;
}

/** Whether a final (F) or corrected (C) result already went (or is queued) for this study's order. */
export async function finalResultEnqueued(trx: Kysely<DB>, studyUID: string): Promise<boolean> {
  const earlier = await trx.selectFrom('outbox').select(['payload']).where('kind', '=', 'hl7-oru').where('study_uid', '=', studyUID).execute();
  return earlier.some((r) => (JSON.parse(r.payload) as OruPayload).status !== 'P');
}

/**
 * AI inference finished: the AI result SR (UNVERIFIED) and a preliminary ORU (P). Once the study is
 * signed off (a final result exists), nothing is sent: a P after an F would tell the RIS the report
 * went back to preliminary. The late result stays in the gateway ("arrived after sign-off").
 * Returns whether anything was enqueued.
 */
export async function onAiResultReady(
  trx: Kysely<DB>,
  e: { studyInstanceUID: string; findings: Finding[]; model: ModelRef; priority?: string },
): Promise<boolean> {
  if (await finalResultEnqueued(trx, e.studyInstanceUID)) return false;
  const signed = await trx.selectFrom('study_signoffs').select('study_uid').where('study_uid', '=', e.studyInstanceUID).executeTakeFirst();
  if (signed) return false;
  const at = new Date().toISOString();
  const resultKey = crypto
    .createHash('sha256')
    .update(JSON.stringify([e.model.name, e.model.version, e.findings.map((f) => [f.id, f.confidence, f.regions])]))
    .digest('hex')
    .slice(0, 24);
  if (e.findings.length) {
    const sop = newUid();
    await enqueue(trx, 'sr-stow', e.studyInstanceUID, `sr:ai:${e.studyInstanceUID}:${resultKey}`, sop, {
      type: 'sr', kind: 'ai', studyInstanceUID: e.studyInstanceUID, sopInstanceUID: sop, seriesInstanceUID: newUid(),
      findings: e.findings, model: e.model, contentDateTime: at,
    });
  }
  const controlId = newControlId();
  await enqueue(trx, 'hl7-oru', e.studyInstanceUID, `oru:P:${e.studyInstanceUID}:${resultKey}`, controlId, {
    type: 'oru', status: 'P', controlId, studyInstanceUID: e.studyInstanceUID, findings: e.findings, model: e.model, at, ...(e.priority ? { priority: e.priority } : {}),
  });
  return true;
}

/**
 * The radiologist signed the study: the verified SR (superseding the latest SR of the study) and a
 * final ORU, or a corrected one when a final was already sent for this study (an addendum calls this
 * again with the addendum's time: a C and a new SR whose predecessor is the signed one).
 */
export async function onStudySignedOff(
  trx: Kysely<DB>,
  e: {
    studyInstanceUID: string; findings: Finding[]; user: SessionUser; signedAt: string; reportText?: string; report?: { findings: string[]; impression: string }; measurements?: Measurement[];
    /** The FHIR endpoint (config.fhirUrl, env FHIR_URL, validated at start); none: no FHIR results. */
    fhirUrl?: string | null;
  },
): Promise<void> {
  if (Number.isNaN(Date.parse(e.signedAt))) throw new Error(`signedAt is not an ISO date-time: ${e.signedAt}`);
  const model = modelOf(e.findings);
  const measurements = e.measurements ?? [];
  if (e.findings.length || measurements.length) {
    const prev = await latestSr(trx, e.studyInstanceUID);
    const sop = newUid();
    await enqueue(trx, 'sr-stow', e.studyInstanceUID, `sr:verified:${e.studyInstanceUID}:${e.signedAt}`, sop, {
      type: 'sr', kind: 'verified', studyInstanceUID: e.studyInstanceUID, sopInstanceUID: sop, seriesInstanceUID: newUid(),
      findings: e.findings, model, contentDateTime: e.signedAt,
      signer: { username: e.user.username, name: e.user.displayName, at: e.signedAt },
      ...(prev ? { predecessor: { seriesInstanceUID: prev.seriesInstanceUID, sopInstanceUID: prev.sopInstanceUID } } : {}),
      ...(e.report ? { report: e.report } : {}),
      ...(measurements.length ? { measurements } : {}),
    });
  }
  const finalSent = await finalResultEnqueued(trx, e.studyInstanceUID);
  const fhirUrl = e.fhirUrl ?? null;
  if (fhirUrl) {
    // FHIR R4 DiagnosticReport + ImagingStudy + Observations, through the outbox like the SR and the ORU.
    const fhir: FhirPayload = {
      studyInstanceUID: e.studyInstanceUID, findings: e.findings, model, reader: { username: e.user.username, name: e.user.displayName }, signedAt: e.signedAt,
      status: finalSent ? 'corrected' : 'final',
      ...(e.reportText ? { reportText: e.reportText } : {}),
      ...(e.report?.impression ? { impression: e.report.impression } : {}),
      ids: { report: crypto.randomUUID(), study: crypto.randomUUID(), device: crypto.randomUUID(), practitioner: crypto.randomUUID(), observations: Object.fromEntries(e.findings.map((f) => [f.id, crypto.randomUUID()])) },
    };
    const key = `fhir:${e.studyInstanceUID}:${e.signedAt}`;
    await enqueue(trx, 'webhook', e.studyInstanceUID, `webhook:${key}`, fhir.ids.report, { type: 'webhook', url: fhirUrl, body: null, idempotencyKey: fhir.ids.report, fhir });
  }
  const controlId = newControlId();
  await enqueue(trx, 'hl7-oru', e.studyInstanceUID, `oru:F:${e.studyInstanceUID}:${e.signedAt}`, controlId, {
    type: 'oru', status: finalSent ? 'C' : 'F', controlId, studyInstanceUID: e.studyInstanceUID, findings: e.findings, model, at: e.signedAt,
    signer: { id: e.user.username, name: e.user.displayName, at: e.signedAt },
    ...(e.reportText ? { reportText: e.reportText } : {}),
    ...(e.report?.impression ? { impression: e.report.impression } : {}),
  });
}

/** A critical-result alert (or any webhook) to deliver at least once, with an idempotency key for the receiver. */
export async function enqueueWebhook(trx: Kysely<DB>, w: { url: string; body: unknown; studyInstanceUID?: string; dedupeKey?: string }): Promise<void> {
  let u: URL;
  try {
    u = new URL(w.url);
  } catch {
    throw new Error(`webhook url is not a URL: ${w.url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`webhook url must be http(s): ${w.url}`);
  const key = w.dedupeKey ?? crypto.randomUUID();
  await enqueue(trx, 'webhook', w.studyInstanceUID ?? null, `webhook:${key}`, key, { type: 'webhook', url: w.url, body: w.body, idempotencyKey: key });
}
