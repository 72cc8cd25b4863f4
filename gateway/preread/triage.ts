/**
 * Triage: a study's priority, its critical alerts (and their webhook) and the live triage feed, all
 * derived from the study's current findings through THE reader policy (gateway/trust/service.ts
 * `readerVisible`: study disable, modality disable, rollout mode, indication, role rule).
 *
 * Two levels, one rule:
 *  - the study level (stored in preread_studies, what alerts and the webhook follow) is prioritise()
 *    over the findings any reader could see (policy without the role rule);
 *  - each role's view (GET /api/triage, /api/studies/:s/preread, SSE) is prioritise() over what that
 *    role may see, computed when asked; a role that may not see the finding behind a flag gets
 *    neither the flag nor its reason.
 *
 * Recomputed from typed domain events (findings changed, signed off, AI disabled/enabled for a study,
 * rollout/modality/role policy changed): the flag, the alerts (closed with the reason, or reopened)
 * and the live views follow at once, and every change of the study's triage is audited with its cause.
 */
import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import './migrations.js';
import '../outbox/schema.js';
import type { GatewayContext, DomainEventMap } from '../context.js';
import { withAudit, type AuditEvent } from '../audit/audit.js';
import { findingsForStudy, getSignoff, signoffStatuses, type OutboxState, type SignoffStatus } from '../findings/repository.js';
import { enqueueWebhook } from '../outbox/events.js';
import { aiOffReason, readerPolicySnapshot, readerVisible, type ReaderPolicySnapshot } from '../trust/service.js';
import { isAiFinding, ruleFor } from '../../src/core/policy/policy.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { prioritise, type Priority, type TriageResult, type TriageRules } from '../../src/core/triage/triage.js';
import type { AiState } from '../../src/core/triage/arrival.js';
import type { StudyFacts } from '../../src/core/policy/study.js';

/** What set a study's triage in motion (audited as the cause of a change). */
export type TriageCause =
  | 'ingest'
  | 'verdict'
  | 'undo'
  | 'signed-off'
  | 'ai-disabled'
  | 'ai-enabled'
  | 'rollout'
  | 'modalities'
  | 'role-policy'
  /** At start: heals a result left stale by a stop between a commit and its recompute, or by an upgrade. */
  | 'start';

/** Why the system closed an alert. */
export type AlertCloseReason = 'rejected' | 'signed-off' | 'ai-disabled' | 'rollout' | 'findings-changed' | 'policy';

/** 'final' once a radiologist signed the study off. */
export type StudyStatus = 'unsigned' | 'final';

export interface TriageEntry {
  studyUID: string;
  priority: Priority;
  reason: string;
  arrivedAt: string;
  aiState: AiState;
  status: StudyStatus;
  signedBy: string | null;
  signedAt: string | null;
  /** Where the signed result is (final only): the verified SR in the PACS, the final ORU at the RIS. */
  report: { srState: OutboxState; oruState: OutboxState } | null;
  /**
   * AI results that arrived after sign-off (kept apart from the signed record; they may start an
   * addendum). In a role's view: only those the reader policy lets the role see; null for a role
   * without diagnostic findings.
   */
  afterSignoff: number | null;
}

/** A role's view: priority and reason are null for a role that sees no diagnostic findings at all. */
export type TriageView = Omit<TriageEntry, 'priority' | 'reason'> & { priority: Priority | null; reason: string | null };

export interface AlertEntry {
  id: string;
  studyUID: string;
  priority: Priority;
  reason: string;
  createdAt: string;
  ackedBy: string | null;
  ackedAt: string | null;
  closedAt: string | null;
  closedReason: AlertCloseReason | null;
  /** Where "Open" goes. */
  url: string;
}

export interface TriageOptions {
  rules: TriageRules;
  /** Per-model (and per-class) thresholds of the installed models. */
  thresholds: () => Readonly<Record<string, number>>;
  alertWebhookUrl: string | null;
  publicUrl: string | null;
  log: (msg: string) => void;
  /** The AI state of a study from its current jobs (the queue's rule: workers up, wait limit). */
  aiState: (row: DB['preread_studies'], jobs: { state: string }[], now: number) => AiState;
}

/** Computed before the transaction: reading the policy and the PACS inside it would block the one connection. */
export interface TriagePrep {
  snap: ReaderPolicySnapshot;
  facts: StudyFacts | null;
}

export interface TriageOutcome {
  studyUID: string;
  cause: TriageCause;
  actor: string;
  from: { priority: Priority; reason: string; status: StudyStatus };
  to: { priority: Priority; reason: string; status: StudyStatus; findingId: string | null };
  raised: AlertEntry | null;
  reopened: AlertEntry | null;
  closed: AlertEntry[];
  /** Webhooks still undelivered when their alert closed: cancelled (never fire for a hidden finding). */
  cancelledWebhooks: number;
}

const ACTOR = 'triage';
/** Study-facts lookups (PACS round-trips) a worklist view runs at once. */
const FACTS_CONCURRENCY = 8;
/** An undelivered page whose alert closed is parked as dead with this note (and revived if the alert reopens). */
const CANCELLED = 'cancelled, alert closed: ';

/** The live feed: a study's triage changed (each listener asks for its role's view), alerts raised / closed / acknowledged. */
export interface LiveTriage {
  studyUID: string;
  /** The view for one role, computed once per role per change. */
  viewFor(role: string): Promise<TriageView | null>;
}

export function alertId(studyUID: string, fingerprint: string): string {
  return `alert-${crypto.createHash('sha256').update(`${studyUID}|${fingerprint}`).digest('hex').slice(0, 24)}`;
}

function toAlert(a: DB['preread_alerts']): AlertEntry {
  return {
    id: a.id,
    studyUID: a.study_uid,
    priority: a.priority as Priority,
    reason: a.reason,
    createdAt: a.created_at,
    ackedBy: a.acked_by,
    ackedAt: a.acked_at,
    closedAt: a.closed_at,
    closedReason: a.closed_reason as AlertCloseReason | null,
    url: `/viewer/${a.study_uid}`,
  };
}

function closeReasonFor(cause: TriageCause, alertFinding: Finding | undefined): AlertCloseReason {
  switch (cause) {
    case 'signed-off':
      return 'signed-off';
    case 'ai-disabled':
    case 'modalities':
      return 'ai-disabled';
    case 'rollout':
      return 'rollout';
    case 'role-policy':
      return 'policy';
    case 'verdict':
      return alertFinding?.status === 'rejected' ? 'rejected' : 'findings-changed';
    default:
      return 'findings-changed';
  }
}

/** SQLite allows a limited number of bound variables: look studies up in chunks. */
function chunks<T>(xs: readonly T[], n = 400): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export class TriageService {
  /** 'triage' (LiveTriage), 'alert' / 'alert-closed' / 'alert-ack' (AlertEntry). */
  readonly live = new EventEmitter();
  private readonly db: Kysely<DB>;
  private readonly chains = new Map<string, Promise<void>>();
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly ctx: GatewayContext,
    readonly opts: TriageOptions,
  ) {
    this.db = ctx.db;
    this.live.setMaxListeners(0);
  }

  /** Listens to the domain events; returns the unsubscribe. */
  subscribe(): () => void {
    const ev = this.ctx.events;
    const on = <K extends keyof DomainEventMap>(k: K, fn: (e: DomainEventMap[K]) => Promise<void>) => this.unsubscribe.push(ev.on(k, fn));
    // A result after sign-off leaves the signed record and its triage as they are: only the live views
    // are told (their entry counts the results that arrived after sign-off).
    on('findings-changed', (e) => (e.cause === 'after-signoff' ? this.serial(e.studyUID, async () => this.notify(e.studyUID)) : this.recompute(e.studyUID, e.cause, e.actor)));
    on('study-signed-off', (e) => this.recompute(e.studyUID, 'signed-off', e.actor));
    // Nothing to recompute (in progress is not triage): the live views are told, and re-read it.
    on('study-opened', (e) => this.serial(e.studyUID, async () => this.notify(e.studyUID)));
    on('study-ai-changed', (e) => this.recompute(e.studyUID, e.disabled ? 'ai-disabled' : 'ai-enabled', e.actor));
    on('policy-changed', (e) => this.recomputeAll(e.what === 'rollout' ? 'rollout' : e.what === 'modalities' ? 'modalities' : 'role-policy', e.actor, e.model));
    return () => this.close();
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /** Waits until every recompute queued so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.chains.size) await Promise.allSettled([...this.chains.values()]);
  }

  /** One recompute at a time per study, in the order the events came. */
  private serial(studyUID: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(studyUID) ?? Promise.resolve();
    const next = prev.then(fn, fn).catch((e: Error) => this.opts.log(`triage: ${studyUID}: ${e.message}`));
    this.chains.set(studyUID, next);
    void next.finally(() => {
      if (this.chains.get(studyUID) === next) this.chains.delete(studyUID);
    });
    return next;
  }

  async prepare(studyUID: string, snapshot: () => Promise<ReaderPolicySnapshot> = () => readerPolicySnapshot(this.ctx)): Promise<TriagePrep> {
    return { snap: await snapshot(), facts: await this.ctx.facts(studyUID) };
  }

  /**
   * Recomputes one study's triage from its current findings, with its audit records in one transaction, then announces it.
   * `snapshot` lets a batch share one policy read (recomputeAll); by default each run reads its own.
   */
  recompute(studyUID: string, cause: TriageCause, actor: string, snapshot?: () => Promise<ReaderPolicySnapshot>): Promise<void> {
    return this.serial(studyUID, async () => {
      const prep = await this.prepare(studyUID, snapshot);
      const out = await withAudit(this.db, async (trx) => {
        const o = await this.applyInTx(trx, studyUID, prep, { cause, actor });
        return { value: o, audit: o ? this.auditOf(o) : null };
      });
      if (out) this.announce(out);
    });
  }

  /** A policy-wide change: every study that has findings or a flag or an open alert. */
  async recomputeAll(cause: TriageCause, actor: string, model?: string): Promise<void> {
    let q = this.db.selectFrom('findings').select('study_uid').distinct();
    if (model) q = q.where('model_name', '=', model);
    const uids = new Set((await q.execute()).map((r) => r.study_uid));
    for (const r of await this.db.selectFrom('preread_studies').select('study_uid').where('priority', '!=', 'none').execute()) uids.add(r.study_uid);
    for (const r of await this.db.selectFrom('preread_alerts').select('study_uid').where('closed_at', 'is', null).execute()) uids.add(r.study_uid);
    const known = new Set((await this.db.selectFrom('preread_studies').select('study_uid').execute()).map((r) => r.study_uid));
    const todo = [...uids].filter((u) => known.has(u));
    // The role policy does not enter the study-level result (nor alerts, nor the webhook): only each
    // role's view changes, so the live listeners are told, in order behind any recompute in flight.
    if (cause === 'role-policy') return void (await Promise.all(todo.map((u) => this.serial(u, async () => this.notify(u)))));
    // One policy snapshot for the whole batch, read when its first recompute runs (so never older than
    // the change that queued it; a later change queues its own runs behind these ones, per study).
    let snap: Promise<ReaderPolicySnapshot> | undefined;
    const shared = () => (snap ??= readerPolicySnapshot(this.ctx).catch((e: Error) => { snap = undefined; throw e; }));
    await Promise.all(todo.map((u) => this.recompute(u, cause, actor, shared)));
  }

  /**
   * The study-level triage in the caller's transaction (the pre-read stores a job's findings, its
   * state and this result atomically). Returns null when the study is not on the triage list.
   */
  async applyInTx(trx: Transaction<DB> | Kysely<DB>, studyUID: string, prep: TriagePrep, how: { cause: TriageCause; actor: string; fingerprint?: string }): Promise<TriageOutcome | null> {
    const row = await trx.selectFrom('preread_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
    if (!row) return null;
    // The snapshot was taken before this transaction; whether AI is off for THIS study is read again
    // inside it, so a result committed just after a reader switched AI off cannot restore a flag or
    // overwrite the "AI disabled" reason with a stale one.
    const offRow = await trx.selectFrom('ai_disabled_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
    const disabledStudies = new Map(prep.snap.disabledStudies);
    if (offRow) disabledStudies.set(studyUID, { reason: offRow.reason, by: offRow.disabled_by, at: offRow.disabled_at });
    else disabledStudies.delete(studyUID);
    prep = { ...prep, snap: { ...prep.snap, disabledStudies } };
    const now = new Date().toISOString();
    const all = await findingsForStudy(trx, studyUID);
    const visible = readerVisible(prep.snap, { studyUID, facts: prep.facts }, all, null);
    const t: TriageResult = prioritise(visible, this.opts.rules, this.opts.thresholds());
    const signoff = await getSignoff(trx, studyUID);
    const status: StudyStatus = signoff ? 'final' : 'unsigned';
    const modality = prep.facts?.modality ?? row.modality;
    // THE rule for "AI off here" (study or modality, unknown modality fails closed), as the reader policy applies it.
    const off = aiOffReason(prep.snap, studyUID, modality);
    const override = off ? 'disabled' : null;
    let reason = t.reason;
    if (t.priority === 'none') {
      if (off) reason = off;
      // Nothing visible and nothing flagged before, and no model just finished: keep what the queue
      // said (AI pending, skipped, failed).
      else if (how.cause !== 'ingest' && !visible.some(isAiFinding) && row.priority === 'none' && row.ai_override !== 'disabled') reason = row.reason;
    }
    const prevStatus: StudyStatus = status === 'final' && how.cause !== 'signed-off' ? 'final' : 'unsigned';
    const from = { priority: row.priority as Priority, reason: row.reason, status: prevStatus };
    const to = { priority: t.priority, reason, status, findingId: t.findingId ?? null };
    const changed = from.priority !== to.priority || from.reason !== to.reason || from.status !== to.status || row.ai_override !== override;
    if (changed) {
      await trx
        .updateTable('preread_studies')
        .set({ priority: t.priority, reason, finding_id: to.findingId, ai_override: override, flagged_at: now, updated_at: now })
        .where('study_uid', '=', studyUID)
        .execute();
    } else if (row.finding_id !== to.findingId) {
      await trx.updateTable('preread_studies').set({ finding_id: to.findingId }).where('study_uid', '=', studyUID).execute();
    }

    // Alerts: one per study and set of images; open while the study is critical for readers and unsigned.
    const out: TriageOutcome = { studyUID, cause: how.cause, actor: how.actor, from, to, raised: null, reopened: null, closed: [], cancelledWebhooks: 0 };
    const critical = t.priority === 'critical' && status !== 'final';
    const open = await trx.selectFrom('preread_alerts').selectAll().where('study_uid', '=', studyUID).where('closed_at', 'is', null).execute();
    if (!critical) {
      for (const a of open) {
        const behind = all.find((f) => f.id === a.finding_id);
        const why = status === 'final' ? 'signed-off' : closeReasonFor(how.cause, behind);
        await trx.updateTable('preread_alerts').set({ closed_at: now, closed_reason: why }).where('id', '=', a.id).execute();
        out.closed.push(toAlert({ ...a, closed_at: now, closed_reason: why }));
        // A page not yet delivered is never sent for a finding readers can no longer see.
        const c = await trx
          .updateTable('outbox')
          .set({ status: 'dead', last_error: `${CANCELLED}${why}`, updated_at: now })
          .where('dedupe_key', '=', `webhook:${a.id}`)
          .where('status', 'in', ['pending', 'failed'])
          .executeTakeFirst();
        out.cancelledWebhooks += Number(c.numUpdatedRows);
      }
      return out;
    }
    // A recompute (no image set named) keeps to the study's latest alert: the one raised by a slice
    // while the images arrived is the same alert once the study's whole result is in.
    const latest = how.fingerprint ? undefined : await trx.selectFrom('preread_alerts').select('id').where('study_uid', '=', studyUID).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    const id = latest?.id ?? alertId(studyUID, how.fingerprint ?? row.fingerprint);
    const existing = await trx.selectFrom('preread_alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!existing) {
      await trx.insertInto('preread_alerts').values({ id, study_uid: studyUID, priority: t.priority, reason, finding_id: to.findingId, created_at: now, acked_by: null, acked_at: null, closed_at: null, closed_reason: null }).execute();
      out.raised = toAlert({ id, study_uid: studyUID, priority: t.priority, reason, finding_id: to.findingId, created_at: now, acked_by: null, acked_at: null, closed_at: null, closed_reason: null });
      if (this.opts.alertWebhookUrl) {
        // No patient identifiers leave the building: study UID, finding and a link. The alert id is the
        // receiver's idempotency key, so a redelivery pages nobody twice.
        await enqueueWebhook(trx, {
          studyInstanceUID: studyUID,
          dedupeKey: id,
          url: this.opts.alertWebhookUrl,
          body: { type: 'critical-finding', alertId: id, studyInstanceUID: studyUID, priority: t.priority, finding: reason, link: `${this.opts.publicUrl ?? ''}/viewer/${studyUID}`, at: now },
        });
      }
    } else if (existing.closed_at) {
      // Critical again (an undone rejection, AI switched back on): the same alert opens again.
      await trx.updateTable('preread_alerts').set({ closed_at: null, closed_reason: null, reason, finding_id: to.findingId }).where('id', '=', id).execute();
      await trx
        .updateTable('outbox')
        .set({ status: 'pending', last_error: null, next_attempt_at: now, updated_at: now })
        .where('dedupe_key', '=', `webhook:${id}`)
        .where('status', '=', 'dead')
        .where('last_error', 'like', `${CANCELLED}%`)
        .execute();
      out.reopened = toAlert({ ...existing, closed_at: null, closed_reason: null, reason, finding_id: to.findingId });
    } else if (existing.finding_id !== to.findingId || existing.reason !== reason) {
      // Still critical with a new lead finding (a flag raised while the images arrived, then the
      // study's whole result): the open alert says what the study says now.
      await trx.updateTable('preread_alerts').set({ finding_id: to.findingId, reason }).where('id', '=', id).execute();
    }
    return out;
  }

  /** The audit records of a triage outcome, for the transaction that made it (withAudit): both commit or neither. */
  auditOf(o: TriageOutcome): AuditEvent[] {
    const out: AuditEvent[] = [];
    const changed = o.from.priority !== o.to.priority || o.from.reason !== o.to.reason || o.from.status !== o.to.status;
    if (changed) {
      out.push({
        actor: ACTOR,
        action: 'triage-changed',
        studyUID: o.studyUID,
        findingId: o.to.findingId,
        detail: { from: o.from, to: { priority: o.to.priority, reason: o.to.reason, status: o.to.status }, cause: o.cause, by: o.actor },
      });
    }
    for (const a of o.closed) {
      out.push({ actor: ACTOR, action: 'critical-alert-closed', studyUID: o.studyUID, findingId: o.to.findingId, detail: { alert: a.id, reason: a.closedReason, cause: o.cause, by: o.actor, webhookCancelled: o.cancelledWebhooks > 0 } });
    }
    if (o.raised) out.push({ actor: ACTOR, action: 'critical-alert-raised', studyUID: o.studyUID, findingId: o.to.findingId, detail: { alert: o.raised.id, reason: o.raised.reason, cause: o.cause, webhook: !!this.opts.alertWebhookUrl } });
    if (o.reopened) out.push({ actor: ACTOR, action: 'critical-alert-reopened', studyUID: o.studyUID, findingId: o.to.findingId, detail: { alert: o.reopened.id, reason: o.reopened.reason, cause: o.cause, by: o.actor } });
    return out;
  }

  /** After the commit: the live feed. */
  announce(o: TriageOutcome): void {
    this.notify(o.studyUID);
    for (const a of o.closed) this.live.emit('alert-closed', a);
    if (o.raised) this.live.emit('alert', o.raised);
    if (o.reopened) this.live.emit('alert', o.reopened);
  }

  /** Tells live listeners that a study's triage (or AI state) may have changed. */
  notify(studyUID: string): void {
    const cache = new Map<string, Promise<TriageView | null>>();
    const e: LiveTriage = {
      studyUID,
      viewFor: (role) => {
        let p = cache.get(role);
        if (!p) cache.set(role, (p = this.viewsFor(role, [studyUID]).then((m) => m[studyUID] ?? null)));
        return p;
      },
    };
    this.live.emit('triage', e);
  }

  // ---------------------------------------------------------------- per-role views

  private async jobsByStudy(studyUIDs?: string[]): Promise<Map<string, { state: string }[]>> {
    const m = new Map<string, { state: string }[]>();
    const run = async (uids?: string[]) => {
      let q = this.db
        .selectFrom('preread_jobs')
        .innerJoin('preread_studies', (j) => j.onRef('preread_studies.study_uid', '=', 'preread_jobs.study_uid').onRef('preread_studies.fingerprint', '=', 'preread_jobs.fingerprint'))
        .select(['preread_jobs.study_uid as study_uid', 'preread_jobs.state as state']);
      if (uids) q = q.where('preread_jobs.study_uid', 'in', uids);
      for (const r of await q.execute()) {
        const l = m.get(r.study_uid) ?? [];
        l.push({ state: r.state });
        m.set(r.study_uid, l);
      }
    };
    if (!studyUIDs) await run();
    else for (const c of chunks(studyUIDs)) await run(c);
    return m;
  }

  /** The study-level entry (no role filter): what the stored priority and alerts follow. Internal and tests. */
  async entries(studyUIDs?: string[]): Promise<Record<string, TriageEntry>> {
    return (await this.entriesAndModality(studyUIDs)).entries;
  }

  /** The entries, and each study's modality as stored (for the reader policy's "AI off for this modality"). */
  private async entriesAndModality(studyUIDs?: string[]): Promise<{ entries: Record<string, TriageEntry>; modality: Map<string, string | null> }> {
    const rows = await this.rows(studyUIDs);
    const jobs = await this.jobsByStudy(studyUIDs);
    const signoffs = new Map<string, SignoffStatus>();
    for (const c of chunks(rows.map((r) => r.study_uid))) for (const [k, v] of await signoffStatuses(this.db, c)) signoffs.set(k, v);
    const now = Date.now();
    const out: Record<string, TriageEntry> = {};
    for (const r of rows) {
      const s = signoffs.get(r.study_uid);
      out[r.study_uid] = {
        studyUID: r.study_uid,
        priority: r.priority as Priority,
        reason: r.reason,
        arrivedAt: r.arrived_at,
        aiState: this.opts.aiState(r, jobs.get(r.study_uid) ?? [], now),
        status: s ? 'final' : 'unsigned',
        signedBy: s?.signedBy ?? null,
        signedAt: s?.signedAt ?? null,
        report: s ? { srState: s.srState, oruState: s.oruState } : null,
        afterSignoff: s?.afterSignoff ?? 0,
      };
    }
    return { entries: out, modality: new Map(rows.map((r) => [r.study_uid, r.modality])) };
  }

  private async rows(studyUIDs?: string[]): Promise<DB['preread_studies'][]> {
    if (!studyUIDs) return this.db.selectFrom('preread_studies').selectAll().execute();
    const out: DB['preread_studies'][] = [];
    for (const c of chunks(studyUIDs)) out.push(...(await this.db.selectFrom('preread_studies').selectAll().where('study_uid', 'in', c).execute()));
    return out;
  }

  private async findingsByStudy(uids: string[]): Promise<Map<string, Finding[]>> {
    const m = new Map<string, Finding[]>();
    for (const c of chunks(uids)) {
      if (!c.length) continue;
      for (const r of await this.db.selectFrom('findings').select(['study_uid', 'body']).where('study_uid', 'in', c).execute()) {
        const f = FindingSchema.safeParse(JSON.parse(r.body));
        if (!f.success) continue;
        const l = m.get(r.study_uid) ?? [];
        l.push(f.data);
        m.set(r.study_uid, l);
      }
    }
    return m;
  }

  /**
   * Each study's triage as `role` may see it: prioritise() over the findings the reader policy lets
   * this role see. A role without diagnostic findings in its rule gets AI state and status only.
   */
  async viewsFor(role: string, studyUIDs?: string[]): Promise<Record<string, TriageView>> {
    const { entries: base, modality } = await this.entriesAndModality(studyUIDs);
    const uids = Object.keys(base);
    const snap = await readerPolicySnapshot(this.ctx);
    const diagnostic = !!ruleFor(snap.policy, role)?.kinds.includes('diagnostic');
    const out: Record<string, TriageView> = {};
    if (!diagnostic) {
      // No priority and no reason for this role; whether AI is off is not a finding (as below).
      for (const [k, e] of Object.entries(base)) out[k] = { ...e, ...(aiOffReason(snap, k, modality.get(k) ?? null) ? { aiState: 'disabled' as const } : {}), priority: null, reason: null, afterSignoff: null };
      return out;
    }
    const findings = await this.findingsByStudy(uids);
    const late = await this.lateFindingsByStudy(uids.filter((u) => (base[u].afterSignoff ?? 0) > 0));
    // The facts of every study that needs them, asked of the PACS concurrently (bounded), not one
    // round-trip after another: a worklist of N AI-read studies cost N sequential lookups.
    const needFacts = uids.filter((u) => (findings.get(u) ?? []).some(isAiFinding) || (late.get(u)?.length ?? 0) > 0);
    const factsOf = new Map<string, StudyFacts | null>();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(FACTS_CONCURRENCY, needFacts.length) }, async () => {
        while (next < needFacts.length) {
          const u = needFacts[next++];
          factsOf.set(u, await this.ctx.facts(u));
        }
      }),
    );
    for (const uid of uids) {
      const e = base[uid];
      const fs = findings.get(uid) ?? [];
      const facts = fs.some(isAiFinding) ? (factsOf.get(uid) ?? null) : null;
      const r = prioritise(readerVisible(snap, { studyUID: uid, facts }, fs, role), this.opts.rules, this.opts.thresholds());
      // AI off for the study under the policy as it stands now: its AI state says so for every role (as
      // above, and as the stored triage will once recomputed), and so does the reason when nothing is
      // flagged, even in the moment before that recompute (which would otherwise read "no AI findings",
      // as if AI had run and found nothing).
      const off = aiOffReason(snap, uid, facts?.modality ?? modality.get(uid) ?? null);
      // Else the stored reason when the study shows nothing for anyone (AI pending, skipped...): it names
      // no finding. Otherwise the role's own result, which names only what it may see.
      const reason = r.priority === 'none' ? (off ?? (e.priority === 'none' ? e.reason : r.reason)) : r.reason;
      const lateFs = late.get(uid) ?? [];
      // The same reader policy as the live set: a result the role may not see is not counted for it.
      const afterSignoff = lateFs.length ? readerVisible(snap, { studyUID: uid, facts: facts ?? factsOf.get(uid) ?? null }, lateFs, role).length : 0;
      out[uid] = { ...e, ...(off ? { aiState: 'disabled' as const } : {}), priority: r.priority, reason, afterSignoff };
    }
    return out;
  }

  /** Output that arrived after sign-off, per study (only studies known to have some are asked for). */
  private async lateFindingsByStudy(uids: string[]): Promise<Map<string, Finding[]>> {
    const m = new Map<string, Finding[]>();
    for (const c of chunks(uids)) {
      if (!c.length) continue;
      for (const r of await this.db.selectFrom('findings_after_signoff').select(['study_uid', 'body']).where('study_uid', 'in', c).execute()) {
        const f = FindingSchema.safeParse(JSON.parse(r.body));
        if (!f.success) continue;
        m.set(r.study_uid, [...(m.get(r.study_uid) ?? []), f.data]);
      }
    }
    return m;
  }

  async viewFor(role: string, studyUID: string): Promise<TriageView | null> {
    return (await this.viewsFor(role, [studyUID]))[studyUID] ?? null;
  }

  // ---------------------------------------------------------------- alerts

  /** Open alerts (unacknowledged unless asked) that `role` may see: its own view of the study is critical; the reason is its own. */
  async alertsFor(role: string, opts: { includeAcked?: boolean; includeClosed?: boolean; ids?: string[] } = {}): Promise<AlertEntry[]> {
    let q = this.db.selectFrom('preread_alerts').selectAll().orderBy('created_at', 'desc').limit(200);
    if (!opts.includeAcked) q = q.where('acked_at', 'is', null);
    if (!opts.includeClosed) q = q.where('closed_at', 'is', null);
    if (opts.ids) q = q.where('id', 'in', opts.ids.length ? opts.ids : ['']);
    const rows = (await q.execute()).map(toAlert);
    if (!rows.length) return rows;
    const views = await this.viewsFor(role, [...new Set(rows.map((a) => a.studyUID))]);
    const out: AlertEntry[] = [];
    for (const a of rows) {
      const v = views[a.studyUID];
      if (a.closedAt) {
        // A closed alert says only that it closed and why: no finding.
        out.push({ ...a, reason: '' });
        continue;
      }
      if (v?.priority === 'critical' && v.reason) out.push({ ...a, reason: v.reason });
    }
    return out;
  }

  /** Open (not closed, not acknowledged) alerts of a study, as stored: for the stream's own bookkeeping, never sent as is. */
  async openAlerts(studyUID: string): Promise<AlertEntry[]> {
    return (await this.db.selectFrom('preread_alerts').selectAll().where('study_uid', '=', studyUID).where('closed_at', 'is', null).where('acked_at', 'is', null).execute()).map(toAlert);
  }

  /** The alert as `role` may see it (null: hidden from this role, as if absent). */
  async alertFor(role: string, a: AlertEntry): Promise<AlertEntry | null> {
    return (await this.alertsFor(role, { includeAcked: true, includeClosed: true, ids: [a.id] }))[0] ?? null;
  }

  async ack(alertId: string, user: { username: string; role: string }): Promise<AlertEntry | null> {
    const [visible] = await this.alertsFor(user.role, { includeAcked: true, ids: [alertId] });
    if (!visible) return null;
    if (!visible.ackedAt) {
      const now = new Date().toISOString();
      // The acknowledgement and its audit record: one transaction.
      await withAudit(this.db, async (trx) => {
        const r = await trx.updateTable('preread_alerts').set({ acked_by: user.username, acked_at: now }).where('id', '=', alertId).where('acked_at', 'is', null).executeTakeFirst();
        return { value: undefined, audit: Number(r.numUpdatedRows) ? { actor: user.username, role: user.role, action: 'critical-alert-acknowledged', studyUID: visible.studyUID, detail: { alert: alertId, reason: visible.reason } } : null };
      });
    }
    const [entry] = await this.alertsFor(user.role, { includeAcked: true, ids: [alertId] });
    const out = entry ?? visible;
    this.live.emit('alert-ack', out);
    return out;
  }
}
