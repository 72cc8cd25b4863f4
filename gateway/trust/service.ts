/**
 * Trust controls over the database: the role policy (versioned), rollout modes per model, AI disable
 * per study and per modality, and the reader filter every findings-returning route goes through.
 * Everything is read from the database on each call, so a change takes effect without a restart.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import './migrations.js';
import { withAudit } from '../audit/audit.js';
import {
  DEFAULT_POLICY,
  PolicySchema,
  ROLLOUT_MODES,
  filterFindingsForRole,
  isAiFinding,
  rolloutModeOf,
  type Policy,
  type RolloutMode,
  type RolloutTable,
} from '../../src/core/policy/policy.js';
import type { StudyFacts } from '../../src/core/policy/study.js';
import type { ModelManifest } from '../../src/core/ai/manifest.js';
import { checkIndication, findingEligible } from './models.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import type { SessionUser } from '../../src/core/auth/roles.js';

/** Models nobody has configured are assistive, so a newly installed model behaves as before this control existed. */
export const DEFAULT_ROLLOUT_MODE: RolloutMode = 'assistive';

export interface PolicyVersion {
  version: number;
  policy: Policy;
  changedBy: string;
  changedAt: string;
  note: string | null;
}

export async function currentPolicy(db: Kysely<DB>): Promise<PolicyVersion> {
  const row = await db.selectFrom('policy_versions').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (!row) return { version: 0, policy: DEFAULT_POLICY, changedBy: 'system', changedAt: new Date(0).toISOString(), note: 'built-in defaults' };
  // A stored policy that no longer validates (schema tightened) falls back to deny-all, never to allow-all.
  const parsed = PolicySchema.safeParse(JSON.parse(row.body));
  const policy: Policy = parsed.success ? parsed.data : { roles: {} };
  return { version: row.version, policy, changedBy: row.changed_by, changedAt: row.changed_at, note: row.note };
}

export async function policyHistory(db: Kysely<DB>): Promise<Omit<PolicyVersion, 'policy'>[]> {
  const rows = await db.selectFrom('policy_versions').select(['version', 'changed_by', 'changed_at', 'note']).orderBy('version', 'desc').execute();
  return rows.map((r) => ({ version: r.version, changedBy: r.changed_by, changedAt: r.changed_at, note: r.note }));
}

export async function policyAtVersion(db: Kysely<DB>, version: number): Promise<Policy | null> {
  const row = await db.selectFrom('policy_versions').select('body').where('version', '=', version).executeTakeFirst();
  return row ? PolicySchema.parse(JSON.parse(row.body)) : null;
}

// Each settings change below and its audit record commit together (withAudit): both or neither.

export async function setPolicy(db: Kysely<DB>, policy: Policy, actor: SessionUser, note?: string): Promise<PolicyVersion> {
  return withAudit(db, async (trx) => {
    const before = await currentPolicy(trx);
    const at = new Date().toISOString();
    const version = before.version + 1;
    await trx.insertInto('policy_versions').values({ version, body: JSON.stringify(policy), changed_by: actor.username, changed_at: at, note: note ?? null }).execute();
    return {
      value: { version, policy, changedBy: actor.username, changedAt: at, note: note ?? null },
      audit: { actor: actor.username, role: actor.role, action: 'settings-changed', detail: { setting: 'role-policy', fromVersion: before.version, toVersion: version, before: before.policy, after: policy, note } },
    };
  });
}

export async function rolloutTable(db: Kysely<DB>): Promise<RolloutTable> {
  const rows = await db.selectFrom('model_rollout').select(['model_name', 'mode']).execute();
  const modes: Record<string, RolloutMode> = Object.create(null);
  for (const r of rows) if ((ROLLOUT_MODES as readonly string[]).includes(r.mode)) modes[r.model_name] = r.mode as RolloutMode;
  return { modes, defaultMode: DEFAULT_ROLLOUT_MODE };
}

export async function rolloutMode(db: Kysely<DB>, modelName: string): Promise<RolloutMode> {
  return rolloutModeOf(await rolloutTable(db), modelName);
}

export async function setRolloutMode(db: Kysely<DB>, modelName: string, mode: RolloutMode, actor: SessionUser): Promise<{ before: RolloutMode; after: RolloutMode }> {
  return withAudit(db, async (trx) => {
    const before = await rolloutMode(trx, modelName);
    // The mode it already has (a replayed request): nothing changes, nothing is recorded.
    if (before === mode) return { value: { before, after: mode }, audit: null };
    const at = new Date().toISOString();
    await trx
      .insertInto('model_rollout')
      .values({ model_name: modelName, mode, changed_by: actor.username, changed_at: at })
      .onConflict((oc) => oc.column('model_name').doUpdateSet({ mode, changed_by: actor.username, changed_at: at }))
      .execute();
    return { value: { before, after: mode }, audit: { actor: actor.username, role: actor.role, action: 'settings-changed', detail: { setting: 'rollout-mode', model: modelName, before, after: mode } } };
  });
}

export async function studyDisable(db: Kysely<DB>, studyUID: string): Promise<{ reason: string; by: string; at: string } | null> {
  const row = await db.selectFrom('ai_disabled_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
  return row ? { reason: row.reason, by: row.disabled_by, at: row.disabled_at } : null;
}

/**
 * Switches AI off for a study with this reason. False when it was already off for the same reason (a
 * replayed request, or a second tab): nothing changes (who switched it off, and when, stay as they
 * were) and nothing is recorded. The write is conditional, so of two identical requests at once only
 * one changes the row and is recorded.
 */
export async function disableAiForStudy(db: Kysely<DB>, studyUID: string, reason: string, actor: SessionUser): Promise<boolean> {
  return withAudit(db, async (trx) => {
    const before = await studyDisable(trx, studyUID);
    const at = new Date().toISOString();
    const r = await trx
      .insertInto('ai_disabled_studies')
      .values({ study_uid: studyUID, reason, disabled_by: actor.username, disabled_at: at })
      .onConflict((oc) => oc.column('study_uid').doUpdateSet({ reason, disabled_by: actor.username, disabled_at: at }).where('ai_disabled_studies.reason', '<>', reason))
      .executeTakeFirst();
    if (!Number(r.numInsertedOrUpdatedRows ?? 0)) return { value: false, audit: null };
    return { value: true, audit: { actor: actor.username, role: actor.role, action: 'ai-disabled-study', studyUID, detail: { before: before ? { disabled: true, reason: before.reason } : { disabled: false }, after: { disabled: true, reason } } } };
  });
}

export async function enableAiForStudy(db: Kysely<DB>, studyUID: string, actor: SessionUser, reason?: string): Promise<boolean> {
  return withAudit(db, async (trx) => {
    const before = await studyDisable(trx, studyUID);
    if (!before) return { value: false, audit: null };
    await trx.deleteFrom('ai_disabled_studies').where('study_uid', '=', studyUID).execute();
    return { value: true, audit: { actor: actor.username, role: actor.role, action: 'ai-enabled-study', studyUID, detail: { before: { disabled: true, reason: before.reason }, after: { disabled: false }, reason } } };
  });
}

export async function disabledModalities(db: Kysely<DB>): Promise<string[]> {
  return (await db.selectFrom('ai_disabled_modalities').select('modality').orderBy('modality').execute()).map((r) => r.modality);
}

export async function setDisabledModalities(db: Kysely<DB>, modalities: string[], actor: SessionUser): Promise<{ before: string[]; after: string[] }> {
  const after = [...new Set(modalities)].sort();
  const at = new Date().toISOString();
  return withAudit(db, async (trx) => {
    const before = await disabledModalities(trx);
    // The set it already is (a replayed request): nothing changes, nothing is recorded.
    if (before.join() === after.join()) return { value: { before, after }, audit: null };
    await trx.deleteFrom('ai_disabled_modalities').execute();
    for (const m of after) await trx.insertInto('ai_disabled_modalities').values({ modality: m, disabled_by: actor.username, disabled_at: at }).execute();
    return { value: { before, after }, audit: { actor: actor.username, role: actor.role, action: 'settings-changed', detail: { setting: 'ai-disabled-modalities', before, after } } };
  });
}

export type AiAllowed = { ok: true } | { ok: false; reason: string; code: 'study-disabled' | 'modality-disabled' | 'rollout-off' };

/**
 * The pre-read calls this before running any model on a study (and the reader filter uses it before
 * showing any): disabled for the study or its modality, or the model's rollout is off → no.
 * Silent mode is allowed to run: its results are recorded and counted, only never shown.
 */
export async function isAiAllowed(db: Kysely<DB>, q: { studyUID: string; modality?: string | null; modelName?: string }): Promise<AiAllowed> {
  const s = await studyDisable(db, q.studyUID);
  if (s) return { ok: false, code: 'study-disabled', reason: `AI disabled for this study by ${s.by}: ${s.reason}` };
  if (q.modality) {
    const mods = await disabledModalities(db);
    if (mods.includes(q.modality.toUpperCase())) return { ok: false, code: 'modality-disabled', reason: `AI disabled for modality ${q.modality.toUpperCase()}` };
  }
  if (q.modelName && (await rolloutMode(db, q.modelName)) === 'off') return { ok: false, code: 'rollout-off', reason: `model ${q.modelName} is switched off` };
  return { ok: true };
}

/** How the gateway learns a study's facts (ctx.facts: Orthanc metadata and the HL7 order, current on every call; see trust/study-facts.ts). */
export type StudyFactsResolver = (studyUID: string) => Promise<StudyFacts | null>;

/**
 * What the reader policy and the AI results guard need besides the database: the study facts and THE
 * model registry's manifests (for the indication guard). The gateway context has this shape, so a
 * capability passes its ctx; nothing is looked up from module state.
 */
export interface TrustDeps {
  db: Kysely<DB>;
  facts: StudyFactsResolver;
  models: { manifests(): ModelManifest[] };
}

/**
 * Server-side guard for AI results arriving from a browser (or any runner): refused when AI is
 * disabled for the study or its modality, the model is off, or THE eligibility rule refuses: on each
 * series the results are about (`seriesUIDs`, known in the study), else on the study. A study whose
 * facts are unknown (not in the PACS, PACS unreachable) is refused: nothing can have run on it here.
 */
export async function guardAiResults(deps: TrustDeps, studyUID: string, manifest: ModelManifest, seriesUIDs: readonly string[] = []): Promise<{ ok: true } | { ok: false; reason: string }> {
  const facts = await deps.facts(studyUID);
  const allowed = await isAiAllowed(deps.db, { studyUID, modality: facts?.modality, modelName: manifest.name });
  if (!allowed.ok) return allowed;
  const known = [...new Set(seriesUIDs)].filter((u) => facts?.series?.some((s) => s.seriesInstanceUID === u));
  for (const uid of known.length ? known : [null]) {
    const ind = checkIndication(manifest, facts, uid);
    if (!ind.ok) return { ok: false, reason: ind.reason };
  }
  return { ok: true };
}

/**
 * Everything the reader policy reads from the database, taken once: the role policy, rollout modes,
 * AI-disabled studies and modalities, installed manifests (for the indication guard). One snapshot
 * serves a whole worklist (triage for hundreds of studies) without a query per study.
 */
export interface ReaderPolicySnapshot {
  policy: Policy;
  rollout: RolloutTable;
  disabledStudies: ReadonlyMap<string, { reason: string; by: string; at: string }>;
  disabledModalities: readonly string[];
  manifests: ReadonlyMap<string, ModelManifest>;
}

type PolicyTables = Omit<ReaderPolicySnapshot, 'manifests'>;
/** Per database handle: the policy tables as read at a policy generation (gateway/trust/migrations.ts). */
const policyTables = new WeakMap<object, { generation: number; tables: PolicyTables }>();

async function readPolicyTables(db: Kysely<DB>): Promise<PolicyTables> {
  const rows = await db.selectFrom('ai_disabled_studies').selectAll().execute();
  return {
    policy: (await currentPolicy(db)).policy,
    rollout: await rolloutTable(db),
    disabledStudies: new Map(rows.map((r) => [r.study_uid, { reason: r.reason, by: r.disabled_by, at: r.disabled_at }])),
    disabledModalities: await disabledModalities(db),
  };
}

/**
 * The reader policy as it stands now. The four policy tables are read again only when the policy
 * generation moved (every write to them moves it, in its own transaction, by trigger): one query per
 * call otherwise. Tables read after the generation can only be newer than it, so a cached snapshot
 * is never older than the last change committed before the call.
 */
export async function readerPolicySnapshot(deps: Pick<TrustDeps, 'db' | 'models'>): Promise<ReaderPolicySnapshot> {
  const { db } = deps;
  const generation = (await db.selectFrom('policy_generation').select('generation').where('id', '=', 1).executeTakeFirst())?.generation;
  const hit = policyTables.get(db);
  let tables: PolicyTables;
  if (hit && generation !== undefined && hit.generation === Number(generation)) tables = hit.tables;
  else {
    tables = await readPolicyTables(db);
    if (generation !== undefined) policyTables.set(db, { generation: Number(generation), tables });
  }
  return { ...tables, manifests: new Map(deps.models.manifests().map((m) => [m.name, m])) };
}

/**
 * THE reader policy, pure: which of a study's findings a reader may see. Study-level rules first (AI
 * disabled for the study or its modality, rollout silent/off, the model's indication), then the role
 * rule. `role: null` applies the study-level rules only: what any reader could see at all, which is
 * what the study's stored triage, its alerts and their webhook are computed from.
 */
export function readerVisible(snap: ReaderPolicySnapshot, study: { studyUID: string; facts: StudyFacts | null }, findings: readonly Finding[], role: string | null): Finding[] {
  if (!findings.length) return [];
  const visible = findings.filter((f) => whyHidden(snap, study, f) === null);
  return role === null ? visible : filterFindingsForRole(snap.policy, role, visible, { modality: study.facts?.modality ?? null });
}

export type HiddenReason = 'ai-disabled' | 'rollout' | 'indication';

/**
 * AI switched off for this study, or for its modality. An unknown modality while some modality is
 * switched off fails closed (AI hidden, reading goes on). Everything derived from AI output (findings,
 * marks, counts) is hidden when this is true.
 */
export function aiDisabledFor(snap: Pick<ReaderPolicySnapshot, 'disabledStudies' | 'disabledModalities'>, studyUID: string, modality: string | null): boolean {
  if (snap.disabledStudies.has(studyUID)) return true;
  const m = modality?.toUpperCase() ?? null;
  return snap.disabledModalities.length > 0 && (!m || snap.disabledModalities.includes(m));
}

/**
 * Why AI is off for this study, in the words every reader sees (the study's stored triage and each
 * role's view use this one wording), or null when it is on. The same rule as aiDisabledFor.
 */
export function aiOffReason(snap: Pick<ReaderPolicySnapshot, 'disabledStudies' | 'disabledModalities'>, studyUID: string, modality: string | null): string | null {
  const d = snap.disabledStudies.get(studyUID);
  if (d) return `AI disabled for this study by ${d.by}: ${d.reason}`;
  if (aiDisabledFor(snap, studyUID, modality)) return `AI disabled for modality ${modality?.toUpperCase() ?? '(unknown)'}`;
  return null;
}

/**
 * Why no reader may see this finding (before any role rule), or null. AI output only: a
 * radiologist's own finding is never hidden by the AI controls.
 */
export function whyHidden(snap: ReaderPolicySnapshot, study: { studyUID: string; facts: StudyFacts | null }, f: Finding): HiddenReason | null {
  if (!isAiFinding(f)) return null;
  if (aiDisabledFor(snap, study.studyUID, study.facts?.modality ?? null)) return 'ai-disabled';
  // Silent and off models' findings are kept (and counted for governance) but never shown.
  if (rolloutModeOf(snap.rollout, f.model.name) !== 'assistive') return 'rollout';
  // Indication guard on the way out too (THE eligibility rule, per finding): a model's mark is shown only
  // if the model is eligible on every series it marks (a mark on a perfusion map is hidden).
  const m = study.facts ? snap.manifests.get(f.model.name) : undefined;
  if (m && study.facts && !findingEligible(m, study.facts, f)) return 'indication';
  return null;
}

/** The reader filter without side effects: AI disable (study, modality), rollout (silent/off never shown), indication, role policy. */
export async function filterForReader(deps: TrustDeps, role: string | null, studyUID: string, findings: Finding[]): Promise<Finding[]> {
  if (!findings.length) return findings;
  return readerVisible(await readerPolicySnapshot(deps), { studyUID, facts: await deps.facts(studyUID) }, findings, role);
}

/**
 * THE filter between stored findings and a reader (every route that returns findings goes through it).
 * Records the first time each AI finding reaches a reader, and audits what was shown.
 */
export async function applyReaderPolicy(deps: TrustDeps, user: Pick<SessionUser, 'username' | 'role'>, studyUID: string, findings: Finding[]): Promise<Finding[]> {
  const { db } = deps;
  const visible = await filterForReader(deps, user.role, studyUID, findings);
  const ai = visible.filter(isAiFinding);
  if (ai.length) {
    const at = new Date().toISOString();
    const ids = ai.map((f) => f.id);
    const key = `${user.username}\u0000${user.role}\u0000${studyUID}\u0000${ids.join(',')}`;
    const recent = recentlyShown(db);
    const last = recent.get(key);
    // The same findings shown again to the same user within a minute (a refresh, a second tab) are not
    // a new fact: the first showing is recorded and audited. Without this every GET took the audit
    // chain's cluster-wide lock (bench:scale: findings requests queued behind each other on PostgreSQL).
    if (last !== undefined && Date.parse(at) - last < SHOWN_AGAIN_MS) return visible;
    // What was shown first and its audit record: one transaction.
    await withAudit(db, async (trx) => {
      await trx
        .insertInto('findings_shown')
        .values(ai.map((f) => ({ finding_id: f.id, model_name: f.model.name, first_shown_at: at, first_shown_to_role: user.role })))
        .onConflict((oc) => oc.column('finding_id').doNothing())
        .execute();
      return { value: undefined, audit: { actor: user.username, role: user.role, action: 'finding-shown', studyUID, detail: { findingIds: ids } } };
    });
    recent.delete(key);
    recent.set(key, Date.parse(at));
    while (recent.size > 10_000) recent.delete(recent.keys().next().value!);
  }
  return visible;
}

/** How long a showing of the same findings to the same user stands before it is recorded again. */
const SHOWN_AGAIN_MS = 60_000;
/** Per database handle (a test may run several gateways in one process): showings recorded lately. */
const shownLately = new WeakMap<object, Map<string, number>>();
function recentlyShown(db: object): Map<string, number> {
  let m = shownLately.get(db);
  if (!m) shownLately.set(db, (m = new Map()));
  return m;
}

/**
 * For routes addressing one finding by id (verdict, history, GET /api/findings/:id): a finding this
 * role may not see is reported as absent (404), never as forbidden, so ids cannot be probed.
 */
export async function readerMaySeeFinding(deps: TrustDeps, role: string, id: string): Promise<boolean> {
  const row = await deps.db.selectFrom('findings').select('body').where('id', '=', id).executeTakeFirst();
  if (!row) return false;
  const f = FindingSchema.safeParse(JSON.parse(row.body));
  if (!f.success) return false;
  return (await filterForReader(deps, role, f.data.studyInstanceUID, [f.data])).length === 1;
}
