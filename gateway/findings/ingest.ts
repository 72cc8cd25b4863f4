/**
 * THE way findings enter the gateway, from every source: in-browser inference (`client`), the
 * server pre-read (`preread`), AI SRs found in the PACS (`sr`), the import API (`import`) and demo
 * fixtures (`fixture`). Nothing else writes AI output into `findings`.
 *
 * Rules, enforced here and nowhere else:
 *  - The server stamps source, model (where the server knows it), actor (`ingestedBy`) and time
 *    (`createdAt`). Status is always `ai-unverified`; a verdict or `originalId` is never taken from
 *    input (the import API refuses a request carrying them, see SERVER_STAMPED_FIELDS).
 *  - A finding carrying a radiologist's verdict (accepted, rejected, or replaced by its `~mod`
 *    modification) is never overwritten: the incoming copy is dropped and that is audited.
 *  - A complete result set of a model (a re-read) supersedes the same model's older UNVERIFIED
 *    findings it no longer contains: they move, whole, to `findings_superseded`, audited one by one.
 *  - After sign-off nothing touches the signed record: new output goes to `findings_after_signoff`
 *    ("arrived after sign-off"), listed separately by the findings API.
 *  - Every change is audited per finding (stored, kept, superseded, after sign-off).
 *
 * Usage: `ingest(deps, batch)` (own transaction with its audit records, then the domain event), or in a
 * caller's `withAudit` transaction `ingestFindings(trx, batch)`, its `audit` returned with the caller's
 * own records (so findings and their records commit together), then `announceIngest(deps, outcome)`.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { DomainEvents } from '../context.js';
import { withAudit, type AuditEvent } from '../audit/audit.js';
import { FindingSchema, describeIssues, type Finding, type ModelRef } from '../../src/core/findings/finding.js';
import { modifiedId } from '../../src/core/findings/verdict.js';
import { findingsForStudy, getSignoff, upsertFinding } from './repository.js';
import './migrations.js';

export const INGEST_SOURCES = ['client', 'preread', 'sr', 'import', 'fixture'] as const;
export type IngestSource = (typeof INGEST_SOURCES)[number];

/**
 * Fields only the server sets. POST /api/findings answers 422 when a client sends any of them
 * (refused rather than silently replaced, so a client that believes it set them learns it did not).
 */
export const SERVER_STAMPED_FIELDS = ['status', 'verdict', 'originalId', 'source', 'createdAt', 'ingestedBy'] as const;

export interface IngestBatch {
  studyUID: string;
  source: IngestSource;
  /** Who handed the findings over: a user, or the service (`preread`, `sr-reader`, `fixture`). */
  actor: { username: string; role?: string | null };
  /**
   * The model as the server knows it (registry manifest, pre-read job). Overrides name, version and
   * manufacturer of every finding. Omitted where only the document knows it (import, SR, fixture).
   */
  model?: Pick<ModelRef, 'name' | 'version' | 'manufacturer'> & Partial<ModelRef>;
  /** Findings; anything in the server-stamped fields is ignored (overwritten). */
  findings: Finding[];
  /**
   * A complete result set of `model` for the study (a pre-read job, an in-browser run): the same
   * model's older unverified findings that are not in it are superseded. Only with `model`.
   */
  completeResultSet?: boolean;
  /**
   * With completeResultSet: the set is complete for this series only (a pre-read job reads one series
   * of the study). The model's findings on other series (flags a slice of another eligible series
   * raised while it arrived) stand: no read of theirs said otherwise.
   */
  resultSeriesUID?: string;
  /** Where the finding came from, for the audit (job id, SR SOP instance, provider...). */
  detail?: Record<string, unknown>;
}

export interface IngestOutcome {
  studyUID: string;
  source: IngestSource;
  actor: { username: string; role?: string | null };
  /** New or changed in the live set. */
  stored: Finding[];
  /** Same as what is stored already: nothing written. */
  unchanged: string[];
  /** Incoming copies of findings that carry a verdict: dropped, the verdict stays. */
  keptVerdict: { id: string; status: string; by?: string }[];
  /** Older unverified findings of the same model replaced by this re-read. */
  superseded: Finding[];
  /** The study is signed off: these went to the "arrived after sign-off" set. */
  afterSignoff: Finding[];
  /** Not stored, with the reason (an id that belongs to another study's finding). */
  refused: { id: string; reason: string }[];
  signedOffAt: string | null;
  /** One record per change: the caller appends them in the same transaction (withAudit). */
  audit: AuditEvent[];
}

export type IngestError = { ok: false; errors: string[] };

export interface IngestDeps {
  db: Kysely<DB>;
  events?: DomainEvents;
}

/** Comparable content: what a re-delivery of the same result leaves equal. */
function content(f: Finding): string {
  const { createdAt, ingestedBy, model, ...rest } = f;
  void createdAt;
  void ingestedBy;
  return JSON.stringify({ ...rest, model: { name: model.name, version: model.version, manufacturer: model.manufacturer } });
}

function summary(f: Finding) {
  return { label: f.label, type: f.type.value, confidence: f.confidence, severity: f.severity, source: f.source, model: `${f.model.name} ${f.model.version}`, status: f.status, createdAt: f.createdAt };
}

/** Applies the stamps; throws on a finding that is not valid after stamping (callers validate first). */
export function stamp(f: Finding, batch: IngestBatch, at: string): Finding {
  const { verdict, originalId, ...rest } = f;
  void verdict;
  void originalId;
  const model = batch.model ? { ...f.model, ...batch.model } : f.model;
  const r = FindingSchema.safeParse({
    ...rest,
    studyInstanceUID: batch.studyUID,
    source: batch.source,
    status: 'ai-unverified',
    model,
    createdAt: at,
    ingestedBy: batch.actor.username.slice(0, 64),
  });
  if (!r.success) throw new Error(`finding ${f.id}: ${describeIssues(r.error).join('; ')}`);
  return r.data;
}

/**
 * Stores a batch in the given database handle (a transaction, or the database: then one is opened).
 * Returns what happened; the audit records are in `audit`, for the caller to append in the same transaction.
 */
export async function ingestFindings(db: Kysely<DB>, batch: IngestBatch): Promise<IngestOutcome> {
  if (!db.isTransaction) return db.transaction().execute((trx) => ingestFindings(trx, batch));
  if (batch.completeResultSet && !batch.model) throw new Error('a complete result set names its model');
  const at = new Date().toISOString();
  const incoming = batch.findings.map((f) => stamp(f, batch, at));
  const out: IngestOutcome = { studyUID: batch.studyUID, source: batch.source, actor: batch.actor, stored: [], unchanged: [], keptVerdict: [], superseded: [], afterSignoff: [], refused: [], signedOffAt: null, audit: [] };
  const base = { actor: batch.actor.username, role: batch.actor.role ?? null, studyUID: batch.studyUID };
  const src = { source: batch.source, ...(batch.detail ?? {}) };

  const signed = await getSignoff(db, batch.studyUID);
  if (signed) {
    // The signed record never changes: a separate result set, visible as "arrived after sign-off".
    out.signedOffAt = signed.signed_at;
    const signedRecord = new Map((await findingsForStudy(db, batch.studyUID)).map((f) => [f.id, f]));
    for (const f of incoming) {
      // What the signed record already holds is not new: a verdict stays the verdict, the same output is the same.
      const withVerdict = signedRecord.get(modifiedId(f.id)) ?? (signedRecord.get(f.id)?.status !== 'ai-unverified' ? signedRecord.get(f.id) : undefined);
      if (withVerdict) {
        out.keptVerdict.push({ id: f.id, status: withVerdict.status, by: withVerdict.verdict?.by });
        continue;
      }
      const same = signedRecord.get(f.id);
      if (same && content(same) === content(f)) {
        out.unchanged.push(f.id);
        continue;
      }
      const prev = await db.selectFrom('findings_after_signoff').select('body').where('id', '=', f.id).executeTakeFirst();
      if (prev && content(FindingSchema.parse(JSON.parse(prev.body))) === content(f)) {
        out.unchanged.push(f.id);
        continue;
      }
      const row = { study_uid: f.studyInstanceUID, source: f.source, model_name: f.model.name, body: JSON.stringify(f), arrived_at: at, actor: batch.actor.username };
      await db.insertInto('findings_after_signoff').values({ id: f.id, ...row }).onConflict((oc) => oc.column('id').doUpdateSet(row)).execute();
      out.afterSignoff.push(f);
      out.audit.push({ ...base, action: 'finding-after-signoff', findingId: f.id, detail: { ...src, signedOffAt: signed.signed_at, signedBy: signed.signed_by, finding: summary(f), ...(prev ? { replacedEarlierLateResult: true } : {}) } });
    }
    return out;
  }

  const existing = new Map((await findingsForStudy(db, batch.studyUID)).map((f) => [f.id, f]));
  // Ids are global: a finding of another study with the same id is not ours to overwrite.
  const ids = incoming.map((f) => f.id);
  const elsewhere = new Set(
    ids.length ? (await db.selectFrom('findings').select('id').where('id', 'in', ids).where('study_uid', '!=', batch.studyUID).execute()).map((r) => r.id) : [],
  );

  for (const f of incoming) {
    if (elsewhere.has(f.id)) {
      out.refused.push({ id: f.id, reason: 'the id belongs to a finding of another study' });
      out.audit.push({ ...base, action: 'finding-ingest-refused', outcome: 4, findingId: f.id, detail: { ...src, reason: 'id of a finding of another study' } });
      continue;
    }
    const ex = existing.get(f.id);
    const mod = existing.get(modifiedId(f.id));
    const withVerdict = mod ?? (ex && ex.status !== 'ai-unverified' ? ex : undefined);
    if (withVerdict) {
      out.keptVerdict.push({ id: f.id, status: withVerdict.status, by: withVerdict.verdict?.by });
      out.audit.push({ ...base, action: 'finding-ingest-kept-verdict', findingId: withVerdict.id, detail: { ...src, incoming: summary(f), kept: { id: withVerdict.id, status: withVerdict.status, by: withVerdict.verdict?.by, at: withVerdict.verdict?.at } } });
      continue;
    }
    if (ex && content(ex) === content(f)) {
      out.unchanged.push(f.id);
      continue;
    }
    await upsertFinding(db, f);
    out.stored.push(f);
    out.audit.push({
      ...base,
      action: batch.source === 'import' ? 'finding-imported' : 'finding-ingested',
      findingId: f.id,
      detail: { ...src, finding: summary(f), ...(ex ? { replaced: summary(ex) } : {}) },
    });
  }

  if (batch.completeResultSet && batch.model) {
    const name = batch.model.name;
    const keep = new Set(incoming.flatMap((f) => [f.id, modifiedId(f.id)]));
    for (const ex of existing.values()) {
      if (keep.has(ex.id) || ex.status !== 'ai-unverified' || ex.source === 'radiologist' || ex.model.name !== name) continue;
      const series = batch.resultSeriesUID;
      if (series && ex.regions.length && !ex.regions.some((r) => r.image.seriesInstanceUID === series)) continue;
      // Only AI re-runs supersede: import, fixture and SR documents stand on their own.
      if (ex.source !== 'preread' && ex.source !== 'client') continue;
      await db.deleteFrom('findings').where('id', '=', ex.id).execute();
      await db.insertInto('findings_superseded').values({ finding_id: ex.id, study_uid: batch.studyUID, model_name: name, body: JSON.stringify(ex), superseded_at: at, superseded_by: batch.actor.username, source: batch.source }).execute();
      out.superseded.push(ex);
      out.audit.push({ ...base, action: 'finding-superseded', findingId: ex.id, detail: { ...src, model: `${batch.model.name} ${batch.model.version}`, superseded: summary(ex), by: incoming.map((f) => f.id) } });
    }
  }
  return out;
}

/** After the commit: the domain event (live set changed, or a result arrived after sign-off). */
export function announceIngest(deps: IngestDeps, out: IngestOutcome): void {
  if (out.stored.length || out.superseded.length) deps.events?.emit('findings-changed', { studyUID: out.studyUID, cause: 'ingest', actor: out.actor.username });
  // Kept apart from the signed record, but readers must learn it is there (it may start an addendum).
  if (out.afterSignoff.length) deps.events?.emit('findings-changed', { studyUID: out.studyUID, cause: 'after-signoff', actor: out.actor.username });
}

/**
 * Ingest and its audit records in one transaction, then notify. `summary` adds the caller's own record
 * of the whole request (say, the AI results received), made from the outcome, to the same transaction.
 */
export async function ingest(deps: IngestDeps, batch: IngestBatch, summary?: (out: IngestOutcome) => AuditEvent): Promise<IngestOutcome> {
  const out = await withAudit(deps.db, async (trx) => {
    const o = await ingestFindings(trx, batch);
    return { value: o, audit: summary ? [...o.audit, summary(o)] : o.audit };
  });
  announceIngest(deps, out);
  return out;
}

/** Fields a client sent that only the server sets (import API): the names, for a 422. */
export function clientStampedFields(raw: unknown): string[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return [];
  return SERVER_STAMPED_FIELDS.filter((k) => (raw as Record<string, unknown>)[k] !== undefined);
}

/** The findings that arrived after sign-off, and what re-reads superseded, for the findings API. */
export async function lateAndSuperseded(db: Kysely<DB>, studyUID: string): Promise<{ afterSignoff: Finding[]; superseded: { finding: Finding; supersededAt: string; supersededBy: string }[] }> {
  const late = await db.selectFrom('findings_after_signoff').select('body').where('study_uid', '=', studyUID).orderBy('arrived_at').execute();
  const sup = await db.selectFrom('findings_superseded').select(['body', 'superseded_at', 'superseded_by']).where('study_uid', '=', studyUID).orderBy('seq').execute();
  return {
    afterSignoff: late.map((r) => FindingSchema.parse(JSON.parse(r.body))),
    superseded: sup.map((r) => ({ finding: FindingSchema.parse(JSON.parse(r.body)), supersededAt: r.superseded_at, supersededBy: r.superseded_by })),
  };
}

/**
 * A finding the radiologist records (one the AI missed): the one entry for source `radiologist`.
 * The server makes the whole finding: id, source, status `accepted` with the radiologist's own
 * verdict (who, role, now), a model reference naming the reader (never an AI model; the outbox and
 * the reader policy leave `radiologist` findings out of anything about AI), confidence 1 (a human
 * assertion, not a score). From the client it takes only what was drawn: type, severity, image and
 * box. Refused after sign-off (an addendum is the way to change a signed record). Audited; the
 * domain event updates every view; at sign-off it goes into the verified SR and the ORU with the
 * other accepted findings.
 */
export interface RadiologistFindingInput {
  type: Finding['type'];
  label?: string;
  severity: Finding['severity'];
  region: Finding['regions'][number];
}

export async function ingestRadiologistFinding(
  deps: IngestDeps,
  e: { studyUID: string; actor: { username: string; role?: string | null }; input: RadiologistFindingInput },
): Promise<{ ok: true; finding: Finding } | { ok: false; status: 409 | 422; errors: string[] }> {
  const at = new Date().toISOString();
  const parsed = FindingSchema.safeParse({
    id: `rad-${crypto.randomUUID()}`,
    studyInstanceUID: e.studyUID,
    type: e.input.type,
    label: e.input.label ?? e.input.type.meaning,
    confidence: 1,
    severity: e.input.severity,
    regions: [e.input.region],
    model: { name: 'radiologist', version: e.actor.username.slice(0, 32) || 'reader', manufacturer: 'Radiologist' },
    source: 'radiologist',
    status: 'accepted',
    verdict: { by: e.actor.username, ...(e.actor.role ? { role: e.actor.role } : {}), at },
    createdAt: at,
    ingestedBy: e.actor.username.slice(0, 64),
  });
  if (!parsed.success) return { ok: false, status: 422, errors: describeIssues(parsed.error) };
  const f = parsed.data;
  // The finding and its audit record: one transaction.
  const refused = await withAudit(deps.db, async (trx) => {
    const signed = await getSignoff(trx, e.studyUID);
    if (signed) return { value: `study ${e.studyUID} was signed off at ${signed.signed_at}; a finding added now goes in an addendum`, audit: null };
    await upsertFinding(trx, f);
    return { value: null, audit: { actor: e.actor.username, role: e.actor.role ?? null, action: 'finding-radiologist-recorded', studyUID: e.studyUID, findingId: f.id, detail: { source: 'radiologist', finding: summary(f) } } };
  });
  if (refused) return { ok: false, status: 409, errors: [refused] };
  deps.events?.emit('findings-changed', { studyUID: e.studyUID, cause: 'ingest', actor: e.actor.username });
  return { ok: true, finding: f };
}
