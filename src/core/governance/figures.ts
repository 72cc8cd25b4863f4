/**
 * Governance figures, pure: per model, version, rollout mode, modality and ISO week, from a history of
 * typed records the gateway reads out of its database (gateway/governance/records.ts). Nothing here
 * touches a database or a clock (`now` is passed), so the same history always gives the same figures
 * and a property test can check that they add up.
 *
 * Every produced AI output is in exactly ONE state: a placement/visibility (shown, visible but not yet
 * opened, hidden by the reader policy for a reason, superseded by a re-read, arrived after sign-off)
 * crossed with a verdict (unverified, accepted, modified, rejected). `produced` is the sum of that
 * matrix, by construction and by test (figures.test.ts).
 */
import { rolesFor } from '../auth/permissions.js';

export const VISIBILITIES = ['shown', 'not-opened', 'hidden-ai-disabled', 'hidden-rollout', 'hidden-indication', 'superseded', 'after-signoff'] as const;
export type Visibility = (typeof VISIBILITIES)[number];
export const VERDICT_STATES = ['unverified', 'accepted', 'modified', 'rejected'] as const;
export type VerdictState = (typeof VERDICT_STATES)[number];
export const REJECT_REASON_KEYS = ['false-positive', 'artefact', 'clinically-insignificant', 'other', 'unspecified'] as const;
export type RejectReasonKey = (typeof REJECT_REASON_KEYS)[number];
export type Mode = 'assistive' | 'silent' | 'off';
export type HiddenReason = 'ai-disabled' | 'rollout' | 'indication';

/**
 * Roles whose opening of a study's AI findings counts as "a radiologist opened the AI findings": those who
 * write its report (the one permission table), the same rule the server applies when it records the open.
 */
export const READING_ROLES: readonly string[] = rolesFor('report.write');

/** One AI output as produced (each re-delivery that replaced an earlier copy is its own output). */
export interface ProducedRecord {
  /** Unique per output: live:<id>, superseded:<seq>, after-signoff:<id>. */
  key: string;
  /** The AI finding's own id (for a modified finding: the original it replaced, never the `~mod` id). */
  findingId: string;
  studyUID: string;
  model: string;
  version: string;
  modality: string | null;
  producedAt: string;
  confidence: number;
  severity: 'critical' | 'urgent' | 'routine';
  /** Finding type code `value|scheme`. */
  type: string;
  /** Where the output is now. */
  placement: 'live' | 'superseded' | 'after-signoff';
  /** When it stopped being live (superseded); null otherwise. */
  endedAt: string | null;
  /** THE reader policy now, before any role rule (live outputs only; null: a reader may see it). */
  hidden: HiddenReason | null;
  verdict: VerdictState;
  rejectReason?: string | null;
}

/** A reader was given AI findings of a study (the `finding-shown` audit record). */
export interface ShowEvent {
  studyUID: string;
  at: string;
  role: string;
  findingIds: string[];
}

/**
 * A reader opened the study to read it: the server's `study-opened` record (gateway/report/opened.ts),
 * written when the viewer fetched the study's findings, with the AI findings it was given. The same record
 * makes the study "in progress" on every worklist; utilisation counts it, never a viewer event.
 */
export interface StudyOpenRecord {
  studyUID: string;
  at: string;
  role: string;
  findingIds: string[];
}

/** A radiologist's own finding (source `radiologist`): a miss of the AI, or an addition. */
export interface RadiologistFinding {
  studyUID: string;
  at: string;
  severity: 'critical' | 'urgent' | 'routine';
  type: string;
  rejected: boolean;
}

export interface SignoffRecord {
  studyUID: string;
  at: string;
}

/** A pre-read job of a model on a study: arrival of the images and the result. */
export interface JobRecord {
  studyUID: string;
  model: string;
  version: string;
  modality: string | null;
  arrivedAt: string;
  finishedAt: string | null;
  state: 'pending' | 'running' | 'done' | 'failed';
}

/** The gateway's own periodic health record, per component (`gateway`, `pacs`, `model:<name>`). */
export interface HealthRecord {
  at: string;
  component: string;
  ok: boolean;
}

export interface RolloutChange {
  model: string;
  at: string;
  before: Mode;
  after: Mode;
}

/** A critical alert raised for a study, with the roles that may see it (the reader policy per role). */
export interface AlertRecord {
  studyUID: string;
  findingId: string | null;
  raisedAt: string;
  roles: string[];
}

export interface GovernanceHistory {
  produced: ProducedRecord[];
  shows: ShowEvent[];
  /** Studies opened by a reader (utilisation's numerator); none when absent. */
  opens?: StudyOpenRecord[];
  radiologistFindings: RadiologistFinding[];
  signoffs: SignoffRecord[];
  jobs: JobRecord[];
  health: HealthRecord[];
  /** Interval between health records; a record covers at most this long. */
  healthIntervalMs: number;
  rollouts: RolloutChange[];
  /** Current mode per model (after the last change); models not listed: `defaultMode`. */
  currentModes: Record<string, Mode>;
  defaultMode: Mode;
  alerts: AlertRecord[];
  now: string;
}

export type StateMatrix = Record<Visibility, Record<VerdictState, number>>;

export interface FigureRow {
  model: string;
  version: string;
  mode: Mode;
  modality: string;
  /** ISO week `2026-W49`, or `all` for the summary rows. */
  week: string;
  produced: number;
  states: StateMatrix;
  byVisibility: Record<Visibility, number>;
  byVerdict: Record<VerdictState, number>;
  shown: number;
  verdicts: number;
  rejectedBy: Record<RejectReasonKey, number>;
  /** accepted / verdicts */
  agreementRate: number | null;
  /** modified / verdicts */
  modifyRate: number | null;
  /** rejected as false positive / findings shown */
  falsePositiveRate: number | null;
  /** Other rejection reasons, each / findings shown (shown apart from the false-positive rate). */
  otherRejectionRates: Record<Exclude<RejectReasonKey, 'false-positive'>, number | null>;
  studiesProcessed: number;
  /** Studies with AI results of this group. */
  studiesWithResults: number;
  /** Of those, studies a radiologist (or resident) opened and was given this model's findings (the server's `study-opened` record). */
  studiesOpened: number;
  utilisation: number | null;
  /** Radiologists' own findings (not rejected) on this group's studies. */
  missesAdded: number;
  /** Critical findings of the final reads (signed studies) of this group's studies, and how many the model found. */
  criticalPositives: number;
  criticalDetected: number;
  criticalSensitivity: number | null;
  latencyMs: { count: number; p50: number | null; p95: number | null };
  /** From the gateway's health records for `model:<name>`. */
  uptime: number | null;
  alerts: number;
  alertsPerRole: Record<string, number>;
  alertsPerRolePerDay: Record<string, number>;
}

export interface Figures {
  generatedAt: string;
  weeks: string[];
  rows: FigureRow[];
  /** One row per model/version/mode/modality over all weeks. */
  summary: FigureRow[];
  /** Whole-gateway uptime per week (`gateway` component) and overall. */
  gatewayUptime: { week: string; uptime: number | null }[];
  totals: { produced: number; byVisibility: Record<Visibility, number>; byVerdict: Record<VerdictState, number> };
  /** Every model with output or a rollout setting, and its mode now (rows carry the mode at production time). */
  models: { model: string; currentMode: Mode }[];
}

// ---------------------------------------------------------------- helpers

const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** ISO 8601 week of a UTC instant: `YYYY-Www`. */
export function isoWeek(iso: string): string {
  const d = new Date(iso);
  const t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const dow = (new Date(t).getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(t - dow * DAY + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const jan4 = Date.UTC(year, 0, 4);
  const jan4dow = (new Date(jan4).getUTCDay() + 6) % 7;
  const week1Monday = jan4 - jan4dow * DAY;
  const week = Math.floor((thursday.getTime() - 3 * DAY - week1Monday) / WEEK) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** Monday 00:00 UTC of an ISO week, in ms. */
export function weekStart(week: string): number {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) throw new Error(`not an ISO week: ${week}`);
  const year = Number(m[1]);
  const jan4 = Date.UTC(year, 0, 4);
  const jan4dow = (new Date(jan4).getUTCDay() + 6) % 7;
  return jan4 - jan4dow * DAY + (Number(m[2]) - 1) * WEEK;
}

/** Nearest-rank percentile (p in 0..100) of the values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

const ratio = (n: number, d: number): number | null => (d > 0 ? n / d : null);

export function emptyMatrix(): StateMatrix {
  return Object.fromEntries(VISIBILITIES.map((v) => [v, Object.fromEntries(VERDICT_STATES.map((s) => [s, 0]))])) as StateMatrix;
}

/** The mode a model ran in at a time: the last change before it, else the first change's `before`, else the current mode. */
export function modeAt(h: Pick<GovernanceHistory, 'rollouts' | 'currentModes' | 'defaultMode'>, model: string, at: string): Mode {
  const changes = h.rollouts.filter((c) => c.model === model).sort((a, b) => a.at.localeCompare(b.at));
  let mode: Mode | null = null;
  for (const c of changes) {
    if (c.at <= at) mode = c.after;
    else {
      mode ??= c.before;
      break;
    }
  }
  return mode ?? h.currentModes[model] ?? h.defaultMode;
}

/**
 * THE classification: the one visibility state of a produced output. Placement first (a superseded
 * or late output is not live, whatever happened to it before), then shown (it reached a reader while
 * it was live), then why the reader policy hides it now, else visible but not yet opened.
 */
export function visibilityOf(r: ProducedRecord, shownWhileLive: boolean): Visibility {
  if (r.placement === 'after-signoff') return 'after-signoff';
  if (r.placement === 'superseded') return 'superseded';
  if (shownWhileLive) return 'shown';
  if (r.hidden) return `hidden-${r.hidden}`;
  return 'not-opened';
}

/** The verdict state counted for an output: only live outputs can carry a verdict. */
export function verdictOf(r: ProducedRecord): VerdictState {
  return r.placement === 'live' ? r.verdict : 'unverified';
}

/** Shown while live: a `finding-shown` record naming its id (or its `~mod`) between production and its end. */
function showIndex(shows: readonly Pick<ShowEvent, 'studyUID' | 'at' | 'role' | 'findingIds'>[]): Map<string, ShowEvent[]> {
  const idx = new Map<string, ShowEvent[]>();
  for (const s of shows) {
    for (const id of s.findingIds) {
      const base = id.endsWith('~mod') ? id.slice(0, -4) : id;
      const list = idx.get(base) ?? [];
      list.push(s);
      idx.set(base, list);
    }
  }
  return idx;
}

/**
 * Each output's time window for shows: from the end of the previous output with the same id on the same
 * study (a re-read that superseded it, then delivered the id again), or from the beginning, to its own end.
 */
function windowStarts(produced: readonly ProducedRecord[]): Map<string, string | null> {
  const byId = new Map<string, ProducedRecord[]>();
  for (const r of produced) {
    if (r.placement === 'after-signoff') continue;
    const k = `${r.studyUID}\u0000${r.findingId}`;
    byId.set(k, [...(byId.get(k) ?? []), r]);
  }
  const starts = new Map<string, string | null>();
  for (const list of byId.values()) {
    // Superseded outputs in the order they ended; the live one (no end) last.
    list.sort((a, b) => (a.endedAt ?? '\uffff').localeCompare(b.endedAt ?? '\uffff'));
    let prev: string | null = null;
    for (const r of list) {
      starts.set(r.key, prev);
      prev = r.endedAt;
    }
  }
  return starts;
}

function wasShown(idx: Map<string, ShowEvent[]>, starts: Map<string, string | null>, r: ProducedRecord, roles?: readonly string[]): boolean {
  if (r.placement === 'after-signoff') return false;
  const start = starts.get(r.key) ?? null;
  return (idx.get(r.findingId) ?? []).some((s) => s.studyUID === r.studyUID && (start === null || s.at > start) && (r.endedAt === null || s.at <= r.endedAt) && (!roles || roles.includes(s.role)));
}

/** Uptime of a component over [from, to): time covered by ok records (each at most one interval) / the span. */
export function uptimeOf(health: readonly HealthRecord[], component: string, from: number, to: number, intervalMs: number): number | null {
  const recs = health.filter((h) => h.component === component).sort((a, b) => a.at.localeCompare(b.at));
  if (!recs.length) return null;
  const first = Date.parse(recs[0].at);
  const start = Math.max(from, first);
  if (to <= start) return null;
  let up = 0;
  for (let i = 0; i < recs.length; i++) {
    if (!recs[i].ok) continue;
    const t = Date.parse(recs[i].at);
    const next = i + 1 < recs.length ? Date.parse(recs[i + 1].at) : Infinity;
    const a = Math.max(t, start);
    const b = Math.min(t + intervalMs, next, to);
    if (b > a) up += b - a;
  }
  return up / (to - start);
}

// ---------------------------------------------------------------- the figures

interface GroupKey {
  model: string;
  version: string;
  mode: Mode;
  modality: string;
  week: string;
}
const keyOf = (k: GroupKey) => [k.model, k.version, k.mode, k.modality, k.week].join('\u0000');

interface Acc {
  key: GroupKey;
  produced: ProducedRecord[];
  states: StateMatrix;
  studies: Set<string>;
  studiesWithResults: Set<string>;
  latencies: number[];
  alerts: AlertRecord[];
}

function newRow(k: GroupKey): FigureRow {
  return {
    ...k,
    produced: 0,
    states: emptyMatrix(),
    byVisibility: Object.fromEntries(VISIBILITIES.map((v) => [v, 0])) as Record<Visibility, number>,
    byVerdict: Object.fromEntries(VERDICT_STATES.map((v) => [v, 0])) as Record<VerdictState, number>,
    shown: 0,
    verdicts: 0,
    rejectedBy: Object.fromEntries(REJECT_REASON_KEYS.map((v) => [v, 0])) as Record<RejectReasonKey, number>,
    agreementRate: null,
    modifyRate: null,
    falsePositiveRate: null,
    otherRejectionRates: { artefact: null, 'clinically-insignificant': null, other: null, unspecified: null },
    studiesProcessed: 0,
    studiesWithResults: 0,
    studiesOpened: 0,
    utilisation: null,
    missesAdded: 0,
    criticalPositives: 0,
    criticalDetected: 0,
    criticalSensitivity: null,
    latencyMs: { count: 0, p50: null, p95: null },
    uptime: null,
    alerts: 0,
    alertsPerRole: {},
    alertsPerRolePerDay: {},
  };
}

function rejectKey(reason: string | null | undefined): RejectReasonKey {
  return (REJECT_REASON_KEYS as readonly string[]).includes(reason ?? '') ? (reason as RejectReasonKey) : 'unspecified';
}

function compute(h: GovernanceHistory, bucket: (iso: string) => string): FigureRow[] {
  const shows = showIndex(h.shows);
  const starts = windowStarts(h.produced);
  // Utilisation: a reader's open that gave them this output while it was live.
  const opens = showIndex(h.opens ?? []);
  const openedByReader = (r: ProducedRecord) => wasShown(opens, starts, r, READING_ROLES);
  const producedByStudy = new Map<string, ProducedRecord[]>();
  for (const r of h.produced) producedByStudy.set(r.studyUID, [...(producedByStudy.get(r.studyUID) ?? []), r]);
  const signoffs = new Map(h.signoffs.map((s) => [s.studyUID, s.at]));
  const accs = new Map<string, Acc>();
  const acc = (k: GroupKey): Acc => {
    const id = keyOf(k);
    let a = accs.get(id);
    if (!a) accs.set(id, (a = { key: k, produced: [], states: emptyMatrix(), studies: new Set(), studiesWithResults: new Set(), latencies: [], alerts: [] }));
    return a;
  };
  // A study belongs to a model's group by the modality and week of its first result of that model/version.
  const studyGroup = new Map<string, Acc>();
  const studyKey = (study: string, model: string, version: string) => `${study}\u0000${model}\u0000${version}`;
  const firstAt = new Map<string, { at: string; modality: string | null }>();
  const note = (study: string, model: string, version: string, at: string, modality: string | null) => {
    const k = studyKey(study, model, version);
    const cur = firstAt.get(k);
    if (!cur || at < cur.at) firstAt.set(k, { at, modality: modality ?? cur?.modality ?? null });
    else if (!cur.modality && modality) cur.modality = modality;
  };
  for (const j of h.jobs) if (j.state === 'done' && j.finishedAt) note(j.studyUID, j.model, j.version, j.finishedAt, j.modality);
  for (const r of h.produced) note(r.studyUID, r.model, r.version, r.producedAt, r.modality);
  for (const [k, v] of firstAt) {
    const [study, model, version] = k.split('\u0000');
    const a = acc({ model, version, mode: modeAt(h, model, v.at), modality: v.modality ?? 'unknown', week: bucket(v.at) });
    a.studies.add(study);
    studyGroup.set(k, a);
  }

  for (const r of h.produced) {
    const a = acc({ model: r.model, version: r.version, mode: modeAt(h, r.model, r.producedAt), modality: r.modality ?? 'unknown', week: bucket(r.producedAt) });
    a.produced.push(r);
    a.states[visibilityOf(r, wasShown(shows, starts, r))][verdictOf(r)]++;
    studyGroup.get(studyKey(r.studyUID, r.model, r.version))!.studiesWithResults.add(r.studyUID);
  }
  for (const j of h.jobs) {
    if (j.state !== 'done' || !j.finishedAt) continue;
    studyGroup.get(studyKey(j.studyUID, j.model, j.version))?.latencies.push(Date.parse(j.finishedAt) - Date.parse(j.arrivedAt));
  }
  const byFinding = new Map(h.produced.filter((r) => r.placement === 'live').map((r) => [r.findingId, r]));
  for (const al of h.alerts) {
    const r = al.findingId ? (byFinding.get(al.findingId) ?? byFinding.get(al.findingId.replace(/~mod$/, ''))) : undefined;
    if (!r) continue;
    acc({ model: r.model, version: r.version, mode: modeAt(h, r.model, al.raisedAt), modality: r.modality ?? 'unknown', week: bucket(al.raisedAt) }).alerts.push(al);
  }

  // Final reads: per signed study, the critical finding types confirmed (accepted or modified AI output
  // live at sign-off, or a radiologist's own finding that was not rejected).
  const finalCritical = new Map<string, Set<string>>();
  const addCritical = (study: string, type: string) => {
    const s = finalCritical.get(study) ?? new Set<string>();
    s.add(type);
    finalCritical.set(study, s);
  };
  for (const r of h.produced) {
    if (!signoffs.has(r.studyUID) || r.placement !== 'live') continue;
    if ((r.verdict === 'accepted' || r.verdict === 'modified') && r.severity === 'critical') addCritical(r.studyUID, r.type);
  }
  for (const f of h.radiologistFindings) if (signoffs.has(f.studyUID) && !f.rejected && f.severity === 'critical') addCritical(f.studyUID, f.type);

  const rows: FigureRow[] = [];
  const now = Date.parse(h.now);
  for (const a of accs.values()) {
    const row = newRow(a.key);
    row.states = a.states;
    for (const v of VISIBILITIES) for (const s of VERDICT_STATES) {
      row.byVisibility[v] += a.states[v][s];
      row.byVerdict[s] += a.states[v][s];
      row.produced += a.states[v][s];
    }
    for (const r of a.produced) if (r.placement === 'live' && r.verdict === 'rejected') row.rejectedBy[rejectKey(r.rejectReason)]++;
    row.shown = row.byVisibility.shown;
    row.verdicts = row.byVerdict.accepted + row.byVerdict.modified + row.byVerdict.rejected;
    row.agreementRate = ratio(row.byVerdict.accepted, row.verdicts);
    row.modifyRate = ratio(row.byVerdict.modified, row.verdicts);
    row.falsePositiveRate = ratio(row.rejectedBy['false-positive'], row.shown);
    for (const k of ['artefact', 'clinically-insignificant', 'other', 'unspecified'] as const) row.otherRejectionRates[k] = ratio(row.rejectedBy[k], row.shown);

    row.studiesProcessed = a.studies.size;
    row.studiesWithResults = a.studiesWithResults.size;
    const models = (study: string) => (producedByStudy.get(study) ?? []).filter((r) => r.model === a.key.model && r.version === a.key.version);
    row.studiesOpened = [...a.studiesWithResults].filter((s) => models(s).some(openedByReader)).length;
    row.utilisation = a.key.mode === 'assistive' ? ratio(row.studiesOpened, row.studiesWithResults) : null;
    row.missesAdded = h.radiologistFindings.filter((f) => a.studies.has(f.studyUID) && !f.rejected).length;
    for (const study of a.studies) {
      const crit = finalCritical.get(study);
      if (!crit) continue;
      // Output the model had before the sign-off: after-signoff output is not a detection of the read.
      const mine = models(study).filter((r) => r.placement !== 'after-signoff' && r.severity === 'critical' && !(r.placement === 'live' && r.verdict === 'rejected'));
      for (const type of crit) {
        row.criticalPositives++;
        if (mine.some((r) => r.type === type)) row.criticalDetected++;
      }
    }
    row.criticalSensitivity = ratio(row.criticalDetected, row.criticalPositives);
    row.latencyMs = { count: a.latencies.length, p50: percentile(a.latencies, 50), p95: percentile(a.latencies, 95) };

    // Uptime and alerts per day over the bucket's time span (a week, or from the first record to now).
    const span = a.key.week === 'all' ? null : [weekStart(a.key.week), Math.min(weekStart(a.key.week) + WEEK, now)];
    const from = span ? span[0] : Math.min(...h.health.map((x) => Date.parse(x.at)), ...a.produced.map((r) => Date.parse(r.producedAt)), now);
    const to = span ? span[1] : now;
    row.uptime = uptimeOf(h.health, `model:${a.key.model}`, from, to, h.healthIntervalMs);
    row.alerts = a.alerts.length;
    const days = Math.max(1, Math.ceil((to - from) / DAY));
    for (const al of a.alerts) for (const role of al.roles) row.alertsPerRole[role] = (row.alertsPerRole[role] ?? 0) + 1;
    for (const [role, n] of Object.entries(row.alertsPerRole)) row.alertsPerRolePerDay[role] = n / days;
    rows.push(row);
  }
  const order = (r: FigureRow) => [r.model, r.version, r.modality, r.week, r.mode].join('\u0000');
  return rows.sort((x, y) => order(x).localeCompare(order(y)));
}

export function computeFigures(h: GovernanceHistory): Figures {
  const rows = compute(h, isoWeek);
  const summary = compute(h, () => 'all');
  const weeks = [...new Set(rows.map((r) => r.week))].sort();
  const now = Date.parse(h.now);
  const totals = {
    produced: 0,
    byVisibility: Object.fromEntries(VISIBILITIES.map((v) => [v, 0])) as Record<Visibility, number>,
    byVerdict: Object.fromEntries(VERDICT_STATES.map((v) => [v, 0])) as Record<VerdictState, number>,
  };
  for (const r of summary) {
    totals.produced += r.produced;
    for (const v of VISIBILITIES) totals.byVisibility[v] += r.byVisibility[v];
    for (const s of VERDICT_STATES) totals.byVerdict[s] += r.byVerdict[s];
  }
  const healthWeeks = [...new Set([...weeks, ...h.health.map((x) => isoWeek(x.at))])].sort();
  return {
    generatedAt: h.now,
    weeks,
    rows,
    summary,
    gatewayUptime: healthWeeks.map((w) => ({ week: w, uptime: uptimeOf(h.health, 'gateway', weekStart(w), Math.min(weekStart(w) + WEEK, now), h.healthIntervalMs) })),
    totals,
    models: [...new Set([...h.produced.map((r) => r.model), ...Object.keys(h.currentModes)])].sort().map((model) => ({ model, currentMode: h.currentModes[model] ?? h.defaultMode })),
  };
}

/** Flat CSV of the rows (one line per model/version/mode/modality/week), for spreadsheets. */
export function figuresToCsv(rows: readonly FigureRow[]): string {
  const cols: [string, (r: FigureRow) => unknown][] = [
    ['model', (r) => r.model],
    ['version', (r) => r.version],
    ['mode', (r) => r.mode],
    ['modality', (r) => r.modality],
    ['week', (r) => r.week],
    ['produced', (r) => r.produced],
    ...VISIBILITIES.map((v) => [v, (r: FigureRow) => r.byVisibility[v]] as [string, (r: FigureRow) => unknown]),
    ...VERDICT_STATES.map((v) => [v, (r: FigureRow) => r.byVerdict[v]] as [string, (r: FigureRow) => unknown]),
    ...REJECT_REASON_KEYS.map((v) => [`rejected_${v}`, (r: FigureRow) => r.rejectedBy[v]] as [string, (r: FigureRow) => unknown]),
    ['agreement_rate', (r) => r.agreementRate],
    ['modify_rate', (r) => r.modifyRate],
    ['false_positive_rate', (r) => r.falsePositiveRate],
    ['studies_processed', (r) => r.studiesProcessed],
    ['studies_with_results', (r) => r.studiesWithResults],
    ['studies_opened', (r) => r.studiesOpened],
    ['utilisation', (r) => r.utilisation],
    ['misses_added', (r) => r.missesAdded],
    ['critical_positives', (r) => r.criticalPositives],
    ['critical_detected', (r) => r.criticalDetected],
    ['critical_sensitivity', (r) => r.criticalSensitivity],
    ['latency_p50_ms', (r) => r.latencyMs.p50],
    ['latency_p95_ms', (r) => r.latencyMs.p95],
    ['uptime', (r) => r.uptime],
    ['alerts', (r) => r.alerts],
    ['alerts_per_role_per_day', (r) => Object.entries(r.alertsPerRolePerDay).map(([k, v]) => `${k}:${v.toFixed(3)}`).join(' ')],
  ];
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'number' ? String(Math.round(v * 1e6) / 1e6) : String(v);
    // Spreadsheet formula injection: a cell starting with = + - @ is quoted with a leading apostrophe.
    const safe = /^[=+\-@]/.test(s) && typeof v !== 'number' ? `'${s}` : s;
    return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [cols.map((c) => c[0]).join(','), ...rows.map((r) => cols.map(([, f]) => cell(f(r))).join(','))].join('\n') + '\n';
}
