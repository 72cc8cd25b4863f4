/**
 * Reads the database into the typed history the pure figures take (src/core/governance/figures.ts):
 * produced AI output from the three places it can be (live `findings`, `findings_superseded`,
 * `findings_after_signoff`), readers given findings (`finding-shown` audit records), studies opened by a
 * reader (`study-opened`, the server's record that also makes a study "in progress"), radiologists' own
 * findings, sign-offs, pre-read jobs, the gateway's health records, rollout changes (audit) and alerts.
 * Whether a live output is hidden is THE reader policy's answer (trust/service.ts whyHidden), the same
 * every reader path applies; which roles an alert reaches is the same policy per role.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { rolesFor } from '../../src/core/auth/permissions.js';
import type { StudyFacts } from '../../src/core/policy/study.js';
import type { AlertRecord, GovernanceHistory, Mode, ProducedRecord, ShowEvent, StudyOpenRecord, VerdictState } from '../../src/core/governance/figures.js';
import type { ModelManifest } from '../../src/core/ai/manifest.js';
import { readerPolicySnapshot, readerVisible, whyHidden } from '../trust/service.js';
import { DEFAULT_HEALTH_INTERVAL_MS } from './health.js';
import './migrations.js';

const typeKey = (f: Finding) => `${f.type.value}|${f.type.scheme}`;
const verdictState = (s: Finding['status']): VerdictState => (s === 'ai-unverified' ? 'unverified' : s);

function parse(body: string): Finding | null {
  try {
    const r = FindingSchema.safeParse(JSON.parse(body));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

function json(s: string | null): Record<string, unknown> {
  try {
    const v = s ? JSON.parse(s) : null;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export interface GovernanceDeps {
  db: Kysely<DB>;
  /** THE study facts (modality, age, series) the reader policy decides on; null when unknown. */
  facts: (studyUID: string) => Promise<StudyFacts | null>;
  /** THE model registry's manifests (the indication guard). */
  models: { manifests(): ModelManifest[] };
}

export async function readHistory(deps: GovernanceDeps, opts: { now?: string; healthIntervalMs?: number } = {}): Promise<GovernanceHistory> {
  const { db } = deps;
  // The same snapshot the reader policy takes for the worklist: the figures count what readers were shown.
  const snap = await readerPolicySnapshot(deps);
  const prereadStudies = await db.selectFrom('preread_studies').select(['study_uid', 'modality', 'fingerprint', 'fingerprint_at']).execute();
  const byStudy = new Map(prereadStudies.map((s) => [s.study_uid, s]));
  const facts = new Map<string, StudyFacts | null>();
  const factsOf = async (uid: string) => {
    if (!facts.has(uid)) facts.set(uid, await deps.facts(uid).catch(() => null));
    return facts.get(uid) ?? null;
  };
  const modalityOf = async (uid: string) => byStudy.get(uid)?.modality ?? (await factsOf(uid))?.modality ?? null;

  const produced: ProducedRecord[] = [];
  const radiologistFindings: GovernanceHistory['radiologistFindings'] = [];
  const base = async (f: Finding, at: string): Promise<Omit<ProducedRecord, 'key' | 'placement' | 'endedAt' | 'hidden' | 'verdict'>> => ({
    findingId: f.originalId ?? f.id,
    studyUID: f.studyInstanceUID,
    model: f.model.name,
    version: f.model.version,
    modality: await modalityOf(f.studyInstanceUID),
    producedAt: f.createdAt ?? at,
    confidence: f.confidence,
    severity: f.severity,
    type: typeKey(f),
  });

  const live = await db.selectFrom('findings').select(['id', 'study_uid', 'body', 'created_at']).execute();
  const liveById = new Map<string, Finding>();
  for (const row of live) {
    const f = parse(row.body);
    if (!f) continue;
    liveById.set(row.id, f);
    if (f.source === 'radiologist') {
      radiologistFindings.push({ studyUID: f.studyInstanceUID, at: f.createdAt ?? row.created_at, severity: f.severity, type: typeKey(f), rejected: f.status === 'rejected' });
      continue;
    }
    const hidden = whyHidden(snap, { studyUID: f.studyInstanceUID, facts: await factsOf(f.studyInstanceUID) }, f);
    produced.push({
      ...(await base(f, row.created_at)),
      key: `live:${row.id}`,
      placement: 'live',
      endedAt: null,
      hidden,
      verdict: verdictState(f.status),
      rejectReason: f.status === 'rejected' ? (f.verdict?.reason ?? null) : null,
    });
  }
  for (const row of await db.selectFrom('findings_superseded').select(['seq', 'body', 'superseded_at']).orderBy('seq').execute()) {
    const f = parse(row.body);
    if (!f || f.source === 'radiologist') continue;
    produced.push({ ...(await base(f, row.superseded_at)), key: `superseded:${row.seq}`, placement: 'superseded', endedAt: row.superseded_at, hidden: null, verdict: 'unverified' });
  }
  for (const row of await db.selectFrom('findings_after_signoff').select(['id', 'body', 'arrived_at']).execute()) {
    const f = parse(row.body);
    if (!f || f.source === 'radiologist') continue;
    produced.push({ ...(await base(f, row.arrived_at)), key: `after-signoff:${row.id}`, placement: 'after-signoff', endedAt: null, hidden: null, verdict: 'unverified' });
  }

  const audit = await db
    .selectFrom('audit')
    .select(['at', 'role', 'action', 'study_uid', 'detail'])
    .where('action', 'in', ['finding-shown', 'study-opened', 'settings-changed'])
    .orderBy('seq')
    .execute();
  const shows: ShowEvent[] = [];
  const opens: StudyOpenRecord[] = [];
  const rollouts: GovernanceHistory['rollouts'] = [];
  const modes = ['off', 'silent', 'assistive'];
  for (const a of audit) {
    const d = json(a.detail);
    if (a.action === 'finding-shown' && a.study_uid && Array.isArray(d.findingIds)) {
      shows.push({ studyUID: a.study_uid, at: a.at, role: a.role ?? '', findingIds: d.findingIds.filter((x): x is string => typeof x === 'string') });
    } else if (a.action === 'study-opened' && a.study_uid && Array.isArray(d.aiFindingIds)) {
      // The server's record of a reader opening the study (gateway/report/opened.ts): utilisation's numerator.
      opens.push({ studyUID: a.study_uid, at: a.at, role: a.role ?? '', findingIds: d.aiFindingIds.filter((x): x is string => typeof x === 'string') });
    } else if (a.action === 'settings-changed' && d.setting === 'rollout-mode' && typeof d.model === 'string' && modes.includes(String(d.before)) && modes.includes(String(d.after))) {
      rollouts.push({ model: d.model, at: a.at, before: d.before as Mode, after: d.after as Mode });
    }
  }

  const signoffs = (await db.selectFrom('study_signoffs').select(['study_uid', 'signed_at']).execute()).map((s) => ({ studyUID: s.study_uid, at: s.signed_at }));
  const jobs: GovernanceHistory['jobs'] = [];
  for (const j of await db.selectFrom('preread_jobs').select(['study_uid', 'model', 'model_version', 'fingerprint', 'state', 'created_at', 'finished_at']).execute()) {
    const s = byStudy.get(j.study_uid);
    // Arrival of the images this job read: the study's current image set arrived at fingerprint_at; an older set, when its job was created.
    const arrivedAt = s && s.fingerprint === j.fingerprint ? s.fingerprint_at : j.created_at;
    const state = (['pending', 'running', 'done', 'failed'] as const).find((x) => x === j.state) ?? 'failed';
    jobs.push({ studyUID: j.study_uid, model: j.model, version: j.model_version, modality: s?.modality ?? null, arrivedAt, finishedAt: j.finished_at, state });
  }

  const healthRows = await db.selectFrom('governance_health').select(['at', 'component', 'ok', 'interval_ms']).orderBy('seq').execute();
  const health = healthRows.map((r) => ({ at: r.at, component: r.component, ok: !!r.ok }));
  const intervalMs = opts.healthIntervalMs ?? healthRows.at(-1)?.interval_ms ?? DEFAULT_HEALTH_INTERVAL_MS;

  const alertRoles = rolesFor('alerts.read');
  const alerts: AlertRecord[] = [];
  for (const a of await db.selectFrom('preread_alerts').select(['study_uid', 'finding_id', 'created_at']).execute()) {
    const f = a.finding_id ? liveById.get(a.finding_id) : undefined;
    const study = { studyUID: a.study_uid, facts: await factsOf(a.study_uid) };
    // The roles the alert reaches under the reader policy (as the alert streams decide per role).
    const roles = f ? alertRoles.filter((role) => readerVisible(snap, study, [f], role).length > 0) : [];
    alerts.push({ studyUID: a.study_uid, findingId: f ? (f.originalId ?? f.id) : a.finding_id, raisedAt: a.created_at, roles });
  }

  return {
    produced,
    shows,
    opens,
    radiologistFindings,
    signoffs,
    jobs,
    health,
    healthIntervalMs: intervalMs,
    rollouts,
    currentModes: snap.rollout.modes as Record<string, Mode>,
    defaultMode: snap.rollout.defaultMode,
    alerts,
    now: opts.now ?? new Date().toISOString(),
  };
}
