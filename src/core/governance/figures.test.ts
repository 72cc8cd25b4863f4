/**
 * Governance figures add up. A seeded simulator plays random lifecycles (ingest from every AI source,
 * re-reads that supersede, re-deliveries, verdicts with every reason, undo, study AI disable/enable,
 * readers opening studies, sign-off, output after sign-off, radiologists' own findings, rollout changes)
 * and keeps its OWN tally of each output's state as the events happen. The history it leaves (the
 * records the gateway would read) goes through computeFigures, and the figures must equal the tally:
 * every produced output in exactly one state, the matrix summing to `produced`, weeks and modalities
 * summing to the all-weeks summary. SEED=<n> replays one history; RUNS=<n> for more.
 */
import { describe, expect, it } from 'vitest';
import {
  VERDICT_STATES,
  VISIBILITIES,
  computeFigures,
  figuresToCsv,
  isoWeek,
  modeAt,
  percentile,
  uptimeOf,
  weekStart,
  type GovernanceHistory,
  type Mode,
  type ProducedRecord,
  type VerdictState,
  type Visibility,
} from './figures.js';

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimOutput {
  rec: ProducedRecord;
  /** The simulator's own bookkeeping, updated as events happen. */
  vis: Visibility;
  verdict: VerdictState;
  reason?: string;
  /** A reader (radiologist or resident) opened the study while this output was live and was given it. */
  openedByReader?: boolean;
}

const MODELS = [
  { model: 'head-ct-ich', version: '1.0' },
  { model: 'head-ct-ich', version: '1.1' },
  { model: 'chest-cr', version: '2' },
];
const TYPES = ['1386000|SCT', '36118008|SCT', '427359005|SCT'];
const REASONS = ['false-positive', 'artefact', 'clinically-insignificant', 'other', undefined];

function simulate(seed: number, steps: number) {
  const rnd = prng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  let clock = Date.parse('2026-10-26T08:00:00Z'); // a Monday; the run spans several ISO weeks
  const tick = () => new Date((clock += Math.floor(rnd() * 6 * 3600_000) + 1000)).toISOString();
  const studies = Array.from({ length: 8 }, (_, i) => ({ uid: `1.2.3.${i + 1}`, modality: i % 3 === 2 ? 'CR' : 'CT', signed: false, disabled: false }));
  const live = new Map<string, SimOutput>(); // study|id -> output
  const dead: SimOutput[] = []; // superseded
  const late = new Map<string, SimOutput>(); // study|id -> after sign-off (a re-delivery replaces it)
  const h: GovernanceHistory = { produced: [], shows: [], opens: [], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: {}, defaultMode: 'assistive', alerts: [], now: '' };
  const modes: Record<string, Mode> = {};
  let seq = 0;
  let nextId = 0;

  for (let step = 0; step < steps; step++) {
    const at = tick();
    const s = pick(studies);
    const m = pick(MODELS);
    const roll = rnd();
    if (roll < 0.3) {
      // Ingest: a result set of 1–3 findings, some re-delivering ids this model already produced on the study.
      const source = pick(['preread', 'client', 'import', 'sr', 'fixture'] as const);
      const complete = source === 'preread' || source === 'client' ? rnd() < 0.7 : false;
      const mine = [...live.values()].filter((o) => o.rec.studyUID === s.uid && o.rec.model === m.model);
      const ids = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => (mine.length && rnd() < 0.3 ? pick(mine).rec.findingId : `f${nextId++}`));
      const uniq = [...new Set(ids)];
      const fresh = (id: string, placement: ProducedRecord['placement']): ProducedRecord => ({
        key: '',
        findingId: id,
        studyUID: s.uid,
        model: m.model,
        version: m.version,
        modality: s.modality,
        producedAt: at,
        confidence: rnd(),
        severity: pick(['critical', 'urgent', 'routine'] as const),
        type: pick(TYPES),
        placement,
        endedAt: null,
        hidden: null,
        verdict: 'unverified',
      });
      if (s.signed) {
        for (const id of uniq) {
          const k = `${s.uid}|${id}`;
          const ex = live.get(k);
          if (ex && ex.verdict !== 'unverified') continue; // the signed record's verdict stays
          late.set(k, { rec: { ...fresh(id, 'after-signoff'), key: `after-signoff:${id}` }, vis: 'after-signoff', verdict: 'unverified' });
        }
        if (rnd() < 0.5) h.jobs.push({ studyUID: s.uid, model: m.model, version: m.version, modality: s.modality, arrivedAt: new Date(Date.parse(at) - 120_000).toISOString(), finishedAt: at, state: 'done' });
        continue;
      }
      for (const id of uniq) {
        const k = `${s.uid}|${id}`;
        const ex = live.get(k);
        if (ex && ex.verdict !== 'unverified') continue; // kept verdict: nothing new
        if (ex) {
          // Re-delivery of an unverified finding: the same output, restamped (the row is replaced).
          ex.rec.producedAt = at;
          ex.rec.confidence = rnd();
          continue;
        }
        const hidden = s.disabled ? 'ai-disabled' : modes[m.model] === 'silent' ? 'rollout' : null;
        const o: SimOutput = { rec: { ...fresh(id, 'live'), key: `live:${id}`, hidden }, vis: hidden ? `hidden-${hidden}` : 'not-opened', verdict: 'unverified' };
        live.set(k, o);
      }
      if (complete) {
        for (const [k, o] of live) {
          if (o.rec.studyUID !== s.uid || o.rec.model !== m.model || o.verdict !== 'unverified' || uniq.includes(o.rec.findingId)) continue;
          live.delete(k);
          o.rec.placement = 'superseded';
          o.rec.endedAt = at;
          o.rec.key = `superseded:${++seq}`;
          o.rec.hidden = null;
          o.vis = 'superseded';
          dead.push(o);
        }
      }
      h.jobs.push({ studyUID: s.uid, model: m.model, version: m.version, modality: s.modality, arrivedAt: new Date(Date.parse(at) - Math.floor(rnd() * 600_000)).toISOString(), finishedAt: at, state: 'done' });
    } else if (roll < 0.45) {
      // A reader opens the study: the visible live outputs are given to them.
      const role = pick(['radiologist', 'resident', 'er-attending', 'technologist']);
      const visible = [...live.values()].filter((o) => o.rec.studyUID === s.uid && !s.disabled && modes[o.rec.model] !== 'silent');
      if (!visible.length) continue;
      for (const o of visible) o.vis = 'shown';
      const ids = visible.map((o) => (o.verdict === 'modified' ? `${o.rec.findingId}~mod` : o.rec.findingId));
      h.shows.push({ studyUID: s.uid, at, role, findingIds: ids });
      // The server's 'study-opened' record: only for the roles that read (write the report), as the route records it.
      if (role === 'radiologist' || role === 'resident') {
        h.opens!.push({ studyUID: s.uid, at, role, findingIds: ids });
        for (const o of visible) o.openedByReader = true;
      }
    } else if (roll < 0.65) {
      const cands = [...live.values()].filter((o) => o.rec.studyUID === s.uid && !s.signed);
      if (!cands.length) continue;
      const o = pick(cands);
      const a = rnd();
      if (o.verdict !== 'unverified' && a < 0.25) {
        o.verdict = 'unverified';
        o.reason = undefined;
      } else if (a < 0.5) o.verdict = 'accepted';
      else if (a < 0.7) o.verdict = 'modified';
      else {
        o.verdict = 'rejected';
        o.reason = pick(REASONS);
      }
      o.rec.verdict = o.verdict;
      o.rec.rejectReason = o.verdict === 'rejected' ? (o.reason ?? null) : null;
    } else if (roll < 0.72) {
      if (s.signed) continue;
      s.disabled = !s.disabled;
      for (const o of live.values()) {
        if (o.rec.studyUID !== s.uid) continue;
        o.rec.hidden = s.disabled ? 'ai-disabled' : modes[o.rec.model] === 'silent' ? 'rollout' : null;
        if (o.vis !== 'shown') o.vis = o.rec.hidden ? `hidden-${o.rec.hidden}` : 'not-opened';
      }
    } else if (roll < 0.8) {
      // Rollout change of a model: its live outputs not yet shown are hidden (silent) or visible again.
      const before = modes[m.model] ?? 'assistive';
      const after: Mode = before === 'silent' ? 'assistive' : 'silent';
      modes[m.model] = after;
      h.rollouts.push({ model: m.model, at, before, after });
      for (const o of live.values()) {
        if (o.rec.model !== m.model) continue;
        const st = studies.find((x) => x.uid === o.rec.studyUID)!;
        o.rec.hidden = st.disabled ? 'ai-disabled' : after === 'silent' ? 'rollout' : null;
        if (o.vis !== 'shown') o.vis = o.rec.hidden ? `hidden-${o.rec.hidden}` : 'not-opened';
      }
    } else if (roll < 0.88) {
      if (s.signed) continue;
      s.signed = true;
      h.signoffs.push({ studyUID: s.uid, at });
    } else if (roll < 0.94) {
      if (s.signed) continue;
      h.radiologistFindings.push({ studyUID: s.uid, at, severity: pick(['critical', 'routine'] as const), type: pick(TYPES), rejected: rnd() < 0.2 });
    } else {
      h.health.push({ at, component: 'gateway', ok: rnd() < 0.9 }, { at, component: `model:${m.model}`, ok: rnd() < 0.9 });
    }
  }
  h.now = tick();
  h.currentModes = modes;
  const outputs = [...live.values(), ...dead, ...late.values()];
  h.produced = outputs.map((o) => ({ ...o.rec }));
  return { h, outputs };
}

const runs = Number(process.env.RUNS ?? 60);
const seeds = process.env.SEED ? [Number(process.env.SEED)] : Array.from({ length: runs }, (_, i) => 1000 + i * 7919);

describe('governance figures reconcile over generated histories (seeded; SEED= to replay)', () => {
  it.each(seeds)('seed %i: every produced output is in exactly one state, and the figures equal the simulated lifecycle', (seed) => {
    const { h, outputs } = simulate(seed, 160);
    const f = computeFigures(h);
    const tag = `seed ${seed}`;

    // The simulator's own tally, per model/version and state.
    const expected = new Map<string, number>();
    const key = (model: string, version: string, v: Visibility, s: VerdictState) => `${model} ${version} ${v} ${s}`;
    for (const o of outputs) expected.set(key(o.rec.model, o.rec.version, o.vis, o.verdict), (expected.get(key(o.rec.model, o.rec.version, o.vis, o.verdict)) ?? 0) + 1);
    const got = new Map<string, number>();
    for (const r of f.summary) for (const v of VISIBILITIES) for (const s of VERDICT_STATES) if (r.states[v][s]) got.set(key(r.model, r.version, v, s), (got.get(key(r.model, r.version, v, s)) ?? 0) + r.states[v][s]);
    expect(Object.fromEntries(got), tag).toEqual(Object.fromEntries(expected));

    // Totals: produced = every output; each row's matrix sums to its produced, and both marginals too.
    expect(f.totals.produced, tag).toBe(outputs.length);
    for (const rows of [f.rows, f.summary]) {
      expect(rows.reduce((n, r) => n + r.produced, 0), tag).toBe(outputs.length);
      for (const r of rows) {
        const cells = VISIBILITIES.flatMap((v) => VERDICT_STATES.map((s) => r.states[v][s]));
        expect(cells.reduce((a, b) => a + b, 0), tag).toBe(r.produced);
        expect(Object.values(r.byVisibility).reduce((a, b) => a + b, 0), tag).toBe(r.produced);
        expect(Object.values(r.byVerdict).reduce((a, b) => a + b, 0), tag).toBe(r.produced);
        // Verdicts only on live outputs; rejections split by reason add up to the rejections.
        for (const v of ['superseded', 'after-signoff'] as const) expect(r.states[v].unverified, tag).toBe(r.byVisibility[v]);
        expect(Object.values(r.rejectedBy).reduce((a, b) => a + b, 0), tag).toBe(r.byVerdict.rejected);
        for (const x of [r.agreementRate, r.modifyRate, r.falsePositiveRate, r.utilisation, r.criticalSensitivity, r.uptime]) if (x !== null) expect(x >= 0 && x <= 1, `${tag} rate ${x}`).toBe(true);
        expect(r.studiesOpened, tag).toBeLessThanOrEqual(r.studiesWithResults);
        expect(r.criticalDetected, tag).toBeLessThanOrEqual(r.criticalPositives);
      }
    }
    // Weeks add up to the summary per model/version/mode/modality.
    for (const s of f.summary) {
      const weeks = f.rows.filter((r) => r.model === s.model && r.version === s.version && r.mode === s.mode && r.modality === s.modality);
      for (const field of ['produced', 'shown', 'verdicts', 'studiesProcessed', 'studiesWithResults', 'studiesOpened', 'missesAdded', 'criticalPositives', 'criticalDetected', 'alerts'] as const) {
        if (field === 'missesAdded') continue; // a study's radiologist findings count in each group the study is in
        expect(weeks.reduce((n, r) => n + r[field], 0), `${tag} ${field} ${s.model}`).toBe(s[field]);
      }
      expect(weeks.reduce((n, r) => n + r.rejectedBy['false-positive'], 0), tag).toBe(s.rejectedBy['false-positive']);
    }

    // The rates from the simulator's own counts, per model/version (modes and modalities pooled).
    for (const mv of MODELS) {
      const mine = outputs.filter((o) => o.rec.model === mv.model && o.rec.version === mv.version);
      const shown = mine.filter((o) => o.vis === 'shown').length;
      const fp = mine.filter((o) => o.vis !== 'superseded' && o.vis !== 'after-signoff' && o.verdict === 'rejected' && o.reason === 'false-positive').length;
      const rows = f.summary.filter((r) => r.model === mv.model && r.version === mv.version);
      expect(rows.reduce((n, r) => n + r.shown, 0), tag).toBe(shown);
      expect(rows.reduce((n, r) => n + r.rejectedBy['false-positive'], 0), tag).toBe(fp);
      // Every study a job finished on counts as processed exactly once per model/version.
      const studiesWithJobs = new Set([...h.jobs.filter((j) => j.model === mv.model && j.version === mv.version).map((j) => j.studyUID), ...mine.map((o) => o.rec.studyUID)]);
      expect(rows.reduce((n, r) => n + r.studiesProcessed, 0), tag).toBe(studiesWithJobs.size);
      // Utilisation's numerator: studies where a reader's open gave them this model's output while it was live.
      expect(rows.reduce((n, r) => n + r.studiesOpened, 0), tag).toBe(new Set(mine.filter((o) => o.openedByReader).map((o) => o.rec.studyUID)).size);
    }

    // CSV: a header and one line per row.
    expect(figuresToCsv(f.rows).trim().split('\n').length, tag).toBe(f.rows.length + 1);
  });

  it('a false-positive rate that leaves out "artefact" rejections is caught: each reason counted apart, over shown findings', () => {
    const base: ProducedRecord = { key: '', findingId: '', studyUID: '1.2.9', model: 'm', version: '1', modality: 'CT', producedAt: '2026-11-02T10:00:00Z', confidence: 0.9, severity: 'routine', type: 't|S', placement: 'live', endedAt: null, hidden: null, verdict: 'unverified' };
    const recs: ProducedRecord[] = [
      { ...base, key: 'a', findingId: 'a', verdict: 'rejected', rejectReason: 'false-positive' },
      { ...base, key: 'b', findingId: 'b', verdict: 'rejected', rejectReason: 'artefact' },
      { ...base, key: 'c', findingId: 'c', verdict: 'accepted' },
      { ...base, key: 'd', findingId: 'd', verdict: 'modified' },
      { ...base, key: 'e', findingId: 'e' },
    ];
    const open = { studyUID: '1.2.9', at: '2026-11-02T11:00:00Z', role: 'radiologist', findingIds: ['a', 'b', 'c', 'd~mod'] };
    const f = computeFigures({ produced: recs, shows: [open], opens: [open], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: {}, defaultMode: 'assistive', alerts: [], now: '2026-11-03T00:00:00Z' });
    const r = f.summary[0];
    expect(r).toMatchObject({ produced: 5, shown: 4, verdicts: 4, agreementRate: 0.25, modifyRate: 0.25, falsePositiveRate: 0.25 });
    expect(r.byVisibility['not-opened']).toBe(1);
    expect(r.otherRejectionRates.artefact).toBe(0.25);
    expect(r.utilisation).toBe(1);
  });

  it('utilisation counts the server\'s study-opened record of a reading role, not a findings show alone', () => {
    const rec: ProducedRecord = { key: 'live:a', findingId: 'a', studyUID: '1.2.9', model: 'm', version: '1', modality: 'CT', producedAt: '2026-11-02T10:00:00Z', confidence: 0.9, severity: 'routine', type: 't|S', placement: 'live', endedAt: null, hidden: null, verdict: 'unverified' };
    const h = (over: Partial<GovernanceHistory>): GovernanceHistory => ({ produced: [rec, { ...rec, key: 'live:b', findingId: 'b', studyUID: '1.2.10' }], shows: [], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: {}, defaultMode: 'assistive', alerts: [], now: '2026-11-03T00:00:00Z', ...over });
    const show = { studyUID: '1.2.9', at: '2026-11-02T11:00:00Z', role: 'radiologist', findingIds: ['a'] };
    const util = (over: Partial<GovernanceHistory>) => computeFigures(h(over)).summary[0];
    // Shown (finding-shown) but no open recorded: not counted.
    expect(util({ shows: [show] })).toMatchObject({ studiesWithResults: 2, studiesOpened: 0, utilisation: 0 });
    // An ER attending's open is not "a radiologist opened the AI findings".
    expect(util({ shows: [show], opens: [{ ...show, role: 'er-attending' }] })).toMatchObject({ studiesOpened: 0, utilisation: 0 });
    // A radiologist's open of one of the two studies: 1 / 2.
    expect(util({ shows: [show], opens: [show] })).toMatchObject({ studiesOpened: 1, utilisation: 0.5 });
    // A resident's open given no AI finding (before the results arrived) does not count.
    expect(util({ opens: [{ ...show, role: 'resident', findingIds: [] }] })).toMatchObject({ studiesOpened: 0 });
  });
});

describe('study-level figures', () => {
  const base: ProducedRecord = { key: 'x', findingId: 'x', studyUID: '1.2.1', model: 'm', version: '1', modality: 'CT', producedAt: '2026-11-02T10:00:00Z', confidence: 0.9, severity: 'critical', type: 'ich|S', placement: 'live', endedAt: null, hidden: null, verdict: 'accepted' };
  const empty: GovernanceHistory = { produced: [], shows: [], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: {}, defaultMode: 'assistive', alerts: [], now: '2026-11-20T00:00:00Z' };
  it('arrival -> result latency p50/p95 from the pre-read jobs; alerts per role per day over the week', () => {
    const job = (study: string, seconds: number) => ({ studyUID: study, model: 'm', version: '1', modality: 'CT', arrivedAt: '2026-11-02T09:00:00Z', finishedAt: new Date(Date.parse('2026-11-02T09:00:00Z') + seconds * 1000).toISOString(), state: 'done' as const });
    const f = computeFigures({
      ...empty,
      produced: [base],
      jobs: [job('1.2.1', 30), job('1.2.2', 60), job('1.2.3', 90), job('1.2.4', 600), { ...job('1.2.5', 5), state: 'failed', finishedAt: null }],
      alerts: [
        { studyUID: '1.2.1', findingId: 'x', raisedAt: '2026-11-02T10:01:00Z', roles: ['radiologist', 'er-attending'] },
        { studyUID: '1.2.1', findingId: 'x~mod', raisedAt: '2026-11-03T10:01:00Z', roles: ['radiologist'] },
        { studyUID: '1.2.1', findingId: 'unknown', raisedAt: '2026-11-03T10:01:00Z', roles: ['radiologist'] },
      ],
    });
    const r = f.rows.find((x) => x.week === '2026-W45')!;
    expect(r.studiesProcessed).toBe(4);
    expect(r.latencyMs).toEqual({ count: 4, p50: 60_000, p95: 600_000 });
    expect(r.alerts).toBe(2);
    expect(r.alertsPerRole).toEqual({ radiologist: 2, 'er-attending': 1 });
    expect(r.alertsPerRolePerDay.radiologist).toBeCloseTo(2 / 7, 9);
  });
  it('critical sensitivity: the signed read\'s critical types the model found; unsigned studies and after-sign-off output do not count', () => {
    const f = computeFigures({
      ...empty,
      produced: [base, { ...base, key: 'y', findingId: 'y', studyUID: '1.2.2', type: 'ptx|S', placement: 'after-signoff', verdict: 'unverified' }, { ...base, key: 'z', findingId: 'z', studyUID: '1.2.3' }],
      signoffs: [{ studyUID: '1.2.1', at: '2026-11-03T00:00:00Z' }, { studyUID: '1.2.2', at: '2026-11-03T00:00:00Z' }],
      radiologistFindings: [
        { studyUID: '1.2.1', at: '2026-11-02T11:00:00Z', severity: 'critical', type: 'ptx|S', rejected: false },
        { studyUID: '1.2.2', at: '2026-11-02T11:00:00Z', severity: 'critical', type: 'ptx|S', rejected: false },
        { studyUID: '1.2.2', at: '2026-11-02T11:00:00Z', severity: 'critical', type: 'dissection|S', rejected: true },
      ],
    });
    const r = f.summary[0];
    // 1.2.1: ich (found, accepted) + ptx (radiologist's, missed); 1.2.2: ptx (the model's arrived after sign-off: missed); 1.2.3 unsigned.
    expect(r).toMatchObject({ criticalPositives: 3, criticalDetected: 1, missesAdded: 2 });
  });
});

describe('figure helpers', () => {
  it('ISO weeks (year boundaries) and week starts', () => {
    expect(isoWeek('2026-12-07T03:00:00Z')).toBe('2026-W50');
    expect(isoWeek('2027-01-01T00:00:00Z')).toBe('2026-W53');
    expect(isoWeek('2024-12-30T12:00:00Z')).toBe('2025-W01');
    expect(new Date(weekStart('2026-W50')).toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(new Date(weekStart('2025-W01')).toISOString()).toBe('2024-12-30T00:00:00.000Z');
  });
  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95)).toBe(95);
  });
  it('uptime: ok records cover one interval each; a gap or a failed record is down time', () => {
    const t0 = Date.parse('2026-11-02T00:00:00Z');
    const rec = (min: number, ok = true) => ({ at: new Date(t0 + min * 60_000).toISOString(), component: 'gateway', ok });
    // 0..10 min up, 10..20 nothing (gateway down), 20..30 up but one failed record at 25.
    const h = [...Array.from({ length: 10 }, (_, i) => rec(i)), ...Array.from({ length: 10 }, (_, i) => rec(20 + i, i !== 5))];
    expect(uptimeOf(h, 'gateway', t0, t0 + 30 * 60_000, 60_000)).toBeCloseTo(19 / 30, 6);
    expect(uptimeOf(h, 'pacs', t0, t0 + 30 * 60_000, 60_000)).toBeNull();
  });
  it('mode at a time from rollout changes', () => {
    const h = { rollouts: [{ model: 'm', at: '2026-11-02T00:00:00Z', before: 'silent' as const, after: 'assistive' as const }], currentModes: { m: 'assistive' as const }, defaultMode: 'assistive' as const };
    expect(modeAt(h, 'm', '2026-11-01T00:00:00Z')).toBe('silent');
    expect(modeAt(h, 'm', '2026-11-03T00:00:00Z')).toBe('assistive');
    expect(modeAt(h, 'x', '2026-11-03T00:00:00Z')).toBe('assistive');
  });
});
