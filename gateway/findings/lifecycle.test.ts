/**
 * Lifecycle sequence test: random sequences (seeded PRNG, reproducible: the seed is in the failure)
 * of ingest from every source, verdict, undo, re-read, study disable, rollout change and sign-off,
 * run against the gateway's own functions (the ones the routes and the pre-read call) over a real
 * SQLite database. After every step:
 *  - a signed record never changes (the study's findings and its sign-off row, byte for byte);
 *  - no verdict is lost (every verdict not undone is still on its finding, same status and time);
 *  - every change of a finding (stored, replaced, superseded, modified, late) has its audit record;
 *  - no preliminary ORU follows a final one for the same study; the audit chain holds;
 *  - everything stored is stamped by the server (status, source, actor, time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../db/database.js';
import { migrate } from '../db/migrations.js';
import { verifyChain, withAudit, type AuditRecord } from '../audit/audit.js';
import { disableAiForStudy, enableAiForStudy, setRolloutMode } from '../trust/service.js';
import { onAiResultReady } from '../outbox/events.js';
import { ROLLOUT_MODES } from '../../src/core/policy/policy.js';
import { modifiedId } from '../../src/core/findings/verdict.js';
import { REJECT_REASONS, type Finding } from '../../src/core/findings/finding.js';
import type { SessionUser } from '../../src/core/auth/roles.js';
import { announceIngest, ingestFindings, ingest, type IngestSource } from './ingest.js';
import { findingsForStudy, getFinding, getSignoff } from './repository.js';
import { giveVerdict, signOff } from './service.js';

/** mulberry32: small, seeded, good enough to pick steps. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)], chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const STUDIES = ['1.2.826.0.1.777.1', '1.2.826.0.1.777.2'] as const;
const AI_MODELS = ['ich-model', 'nodule-model'] as const;
const SOURCES: IngestSource[] = ['client', 'preread', 'sr', 'import', 'fixture'];
const RITA: SessionUser = { id: 1, username: 'rita', displayName: 'Reader^Rita', role: 'radiologist' };
const REMY: SessionUser = { id: 2, username: 'remy', displayName: 'Resident^Remy', role: 'resident' };
const ADA: SessionUser = { id: 3, username: 'ada', displayName: 'Admin^Ada', role: 'admin' };

const short = (study: string) => study.split('.').pop()!;
const norm = (id: string | null) => (id ?? '').replace(/~mod$/, '');

function finding(study: string, id: string, model: string, r: Rng): Finding {
  const x = 10 + r.int(100);
  const f = {
    id,
    studyInstanceUID: study,
    type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
    label: 'Intracranial hemorrhage',
    confidence: Math.round((0.5 + r.next() / 2) * 100) / 100,
    severity: r.pick(['critical', 'urgent', 'routine'] as const),
    regions: [{ image: { seriesInstanceUID: `${study}.9`, sopInstanceUID: `${study}.9.${1 + r.int(5)}` }, box: { x, y: x, width: 20, height: 20 } }],
    measurements: [],
    model: { name: model, version: '1.0', manufacturer: 'Test' },
    source: 'client' as const,
    status: 'ai-unverified' as const,
    kind: 'diagnostic' as const,
  };
  // A producer that claims a verdict, another source or an old date: the stamp must ignore all of it.
  if (r.chance(0.2)) return { ...f, status: 'accepted', verdict: { by: 'erin', at: '2020-01-01T00:00:00.000Z' }, source: 'radiologist', createdAt: '2020-01-01T00:00:00.000Z' } as Finding;
  return f as Finding;
}

interface World {
  store: Store;
  /** Verdicts given and not undone: result id -> what must still be on it. */
  verdicts: Map<string, { status: string; at: string }>;
  /** Signed records: study -> snapshot taken at sign-off. */
  signed: Map<string, string>;
  log: string[];
}

async function snapshotSigned(w: World, study: string): Promise<string> {
  const fs = (await findingsForStudy(w.store.db, study)).sort((a, b) => a.id.localeCompare(b.id));
  return JSON.stringify({ findings: fs, signoff: await getSignoff(w.store.db, study) });
}

/** Every finding-bearing row, for the "every change audited" check. */
async function state(w: World): Promise<Map<string, string>> {
  const db = w.store.db;
  const m = new Map<string, string>();
  for (const r of await db.selectFrom('findings').select(['id', 'body']).execute()) m.set(`live:${r.id}`, r.body);
  for (const r of await db.selectFrom('findings_after_signoff').select(['id', 'body']).execute()) m.set(`late:${r.id}`, r.body);
  for (const r of await db.selectFrom('findings_superseded').select(['seq', 'finding_id']).execute()) m.set(`superseded:${r.seq}:${r.finding_id}`, '');
  for (const r of await db.selectFrom('study_signoffs').selectAll().execute()) m.set(`signoff:${r.study_uid}`, JSON.stringify(r));
  for (const r of await db.selectFrom('ai_disabled_studies').select(['study_uid', 'reason']).execute()) m.set(`disabled:${r.study_uid}`, r.reason);
  for (const r of await db.selectFrom('model_rollout').select(['model_name', 'mode']).execute()) m.set(`rollout:${r.model_name}`, r.mode);
  return m;
}

async function step(w: World, r: Rng): Promise<string> {
  const db = w.store.db;
  const study = r.pick(STUDIES);
  const kind = r.pick(['ingest', 'ingest', 'ingest', 'verdict', 'verdict', 'verdict', 'undo', 'disable', 'rollout', 'signoff'] as const);
  const signedBefore = !!(await getSignoff(db, study));

  if (kind === 'ingest') {
    const source = r.pick(SOURCES);
    const model = source === 'client' || source === 'preread' ? r.pick(AI_MODELS) : source === 'sr' ? 'vendor-sr' : 'integration';
    const prefix = source === 'sr' ? `sr:${study}.5${r.int(2)}:` : `${short(study)}-${source === 'preread' || source === 'client' ? 'ai' : source}-${model}-`;
    const n = r.int(4);
    const ks = [...new Set(Array.from({ length: n }, () => r.int(5)))];
    const incoming = ks.map((k) => finding(study, `${prefix}${k}`, model, r));
    const complete = source === 'client' || source === 'preread';
    const before = new Map((await findingsForStudy(db, study)).map((f) => [f.id, f]));
    const batch = { studyUID: study, source, actor: { username: source === 'preread' ? 'preread' : source === 'sr' ? 'sr-reader' : 'rita' }, findings: incoming, ...(complete ? { model: { name: model, version: '1.0', manufacturer: 'Test' }, completeResultSet: true } : {}) };
    let out;
    if (source === 'preread') {
      // As the pre-read's result: ingest, the outbox events and the audit records in one transaction.
      out = await withAudit(db, async (trx) => {
        const o = await ingestFindings(trx, batch);
        await onAiResultReady(trx, { studyInstanceUID: study, findings: incoming, model: { name: model, version: '1.0', manufacturer: 'Test' } });
        return { value: o, audit: o.audit };
      });
      announceIngest({ db }, out);
    } else out = await ingest({ db }, batch);

    // The oracle: what the rules say must have happened.
    if (signedBefore) {
      expect(out.stored).toEqual([]);
      expect(out.superseded).toEqual([]);
      expect(new Set([...out.afterSignoff.map((f) => f.id), ...out.unchanged, ...out.keptVerdict.map((k) => k.id)])).toEqual(new Set(incoming.map((f) => f.id)));
      // Only what the signed record does not already hold is a late result.
      for (const f of out.afterSignoff) expect(before.get(f.id)?.status === 'ai-unverified' && before.get(f.id)?.confidence === f.confidence && JSON.stringify(before.get(f.id)?.regions) === JSON.stringify(f.regions) && before.get(f.id)?.severity === f.severity).toBe(false);
    } else {
      const kept = incoming.filter((f) => before.has(modifiedId(f.id)) || (before.get(f.id) && before.get(f.id)!.status !== 'ai-unverified')).map((f) => f.id);
      expect(out.keptVerdict.map((k) => k.id).sort()).toEqual(kept.sort());
      const ids = new Set(incoming.flatMap((f) => [f.id, modifiedId(f.id)]));
      const sup = complete ? [...before.values()].filter((f) => f.model.name === model && f.status === 'ai-unverified' && (f.source === 'client' || f.source === 'preread') && !ids.has(f.id)).map((f) => f.id) : [];
      expect(out.superseded.map((f) => f.id).sort()).toEqual(sup.sort());
      for (const f of out.stored) {
        expect(f).toMatchObject({ status: 'ai-unverified', source, ingestedBy: batch.actor.username });
        expect(f.verdict).toBeUndefined();
        expect(Date.now() - Date.parse(f.createdAt!)).toBeLessThan(60_000);
      }
    }
    return `ingest ${source} ${model} ${study} [${incoming.map((f) => f.id).join(',')}] -> stored ${out.stored.length} kept ${out.keptVerdict.length} superseded ${out.superseded.length} late ${out.afterSignoff.length}`;
  }

  if (kind === 'verdict' || kind === 'undo') {
    const fs = await findingsForStudy(db, study);
    const target = r.chance(0.9) && fs.length ? r.pick(fs).id : `${short(study)}-nope`;
    const user = r.chance(0.8) ? RITA : REMY;
    const action = kind === 'undo' ? 'undo' : r.pick(['accept', 'reject', 'modify'] as const);
    const req =
      action === 'reject' ? { action, ...(r.chance(0.5) ? { reason: r.pick(REJECT_REASONS) } : {}) } : action === 'modify' ? { action, changes: { box: { x: 1 + r.int(50), y: 1 + r.int(50), width: 5 + r.int(30), height: 5 + r.int(30) } } } : { action };
    const out = await giveVerdict({ db }, target, req as never, user);
    if (!out.ok) {
      if (signedBefore && fs.some((f) => f.id === target)) expect(out.status).toBe(409);
      return `${action} ${target} -> ${out.status}`;
    }
    expect(signedBefore).toBe(false);
    if (out.before.id !== out.finding.id) w.verdicts.delete(out.before.id);
    if (action === 'undo') w.verdicts.delete(out.before.id);
    if (out.finding.status !== 'ai-unverified') {
      expect(out.finding.verdict).toMatchObject({ by: action === 'undo' ? expect.any(String) : user.username });
      w.verdicts.set(out.finding.id, { status: out.finding.status, at: out.finding.verdict!.at });
    }
    return `${action} ${target} by ${user.username} -> ${out.finding.id} ${out.finding.status}`;
  }

  if (kind === 'disable') {
    if (r.chance(0.5)) await disableAiForStudy(db, study, 'sequence test', RITA);
    else await enableAiForStudy(db, study, RITA, 'sequence test');
    return `ai disable/enable ${study}`;
  }

  if (kind === 'rollout') {
    const model = r.pick(AI_MODELS);
    const mode = r.pick(ROLLOUT_MODES);
    await setRolloutMode(db, model, mode, ADA);
    return `rollout ${model} ${mode}`;
  }

  // sign-off
  const confirm = r.chance(0.6);
  const unverified = (await findingsForStudy(db, study)).filter((f) => f.status === 'ai-unverified').map((f) => f.id).sort();
  const out = await signOff({ db }, { studyUID: study, user: RITA, confirmUnverified: confirm });
  if (signedBefore) {
    expect(out.ok).toBe(false);
  } else if (unverified.length && !confirm) {
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.unverified?.map((f) => f.id).sort()).toEqual(unverified);
    expect(await getSignoff(db, study)).toBeNull();
  } else {
    expect(out.ok).toBe(true);
    if (out.ok) expect(JSON.parse(out.signoff.unverified_ids)).toEqual(unverified);
    w.signed.set(study, await snapshotSigned(w, study));
  }
  return `signoff ${study} confirm=${confirm} unverified=${unverified.length} -> ${out.ok ? 'signed' : out.status}`;
}

async function check(w: World, beforeState: Map<string, string>, lastSeq: number): Promise<void> {
  const db = w.store.db;
  // 1. Signed records never change.
  for (const [study, snap] of w.signed) expect(await snapshotSigned(w, study), `signed record of ${study} changed`).toBe(snap);
  // 2. No verdict lost.
  for (const [id, v] of w.verdicts) {
    const f = await getFinding(db, id);
    expect(f, `finding ${id} with a verdict disappeared`).not.toBeNull();
    expect({ status: f!.status, at: f!.verdict?.at }, `verdict on ${id} changed`).toEqual(v);
  }
  // 3. Every change of a finding has its audit record (by finding id; a ~mod counts for its original).
  const after = await state(w);
  const changed = new Set<string>();
  for (const [k, v] of after) if (beforeState.get(k) !== v) changed.add(k);
  for (const k of beforeState.keys()) if (!after.has(k)) changed.add(k);
  const audit = (await db.selectFrom('audit').selectAll().where('seq', '>', lastSeq).execute()) as AuditRecord[];
  const audited = new Set(audit.map((a) => norm(a.finding_id)));
  const did = (action: string, pred: (a: AuditRecord) => boolean = () => true) => audit.some((a) => a.action === action && pred(a));
  for (const k of changed) {
    const [kind, key] = [k.slice(0, k.indexOf(':')), k.slice(k.indexOf(':') + 1)];
    if (kind === 'signoff') {
      expect(did('study-signed-off', (a) => a.study_uid === key), `sign-off of ${key} not audited`).toBe(true);
      continue;
    }
    if (kind === 'disabled') {
      expect(did('ai-disabled-study', (a) => a.study_uid === key) || did('ai-enabled-study', (a) => a.study_uid === key), `AI disable of ${key} not audited`).toBe(true);
      continue;
    }
    if (kind === 'rollout') {
      expect(did('settings-changed', (a) => (JSON.parse(a.detail ?? '{}') as { model?: string }).model === key), `rollout of ${key} not audited`).toBe(true);
      continue;
    }
    const id = kind === 'superseded' ? k.split(':').slice(2).join(':') : k.slice(5);
    expect(audited.has(norm(id)), `change of ${k} is not in the audit (${audit.map((a) => `${a.action}:${a.finding_id}`).join(', ')})`).toBe(true);
  }
  // 4. No P after an F for the same study.
  for (const study of STUDIES) {
    const orus = await db.selectFrom('outbox').select(['id', 'payload']).where('kind', '=', 'hl7-oru').where('study_uid', '=', study).orderBy('id').execute();
    const statuses = orus.map((o) => (JSON.parse(o.payload) as { status: string }).status);
    const firstFinal = statuses.findIndex((s) => s !== 'P');
    if (firstFinal >= 0) expect(statuses.slice(firstFinal), `ORU statuses of ${study}: ${statuses.join(',')}`).not.toContain('P');
  }
  // 5. Everything stored carries the server's stamps.
  for (const r of await db.selectFrom('findings').select('body').execute()) {
    const f = JSON.parse(r.body) as Finding;
    expect(f.ingestedBy, `finding ${f.id} without ingestedBy`).toBeTruthy();
    expect(f.createdAt).toBeTruthy();
    if (!w.verdicts.has(f.id)) expect(f.status, `finding ${f.id} has a status nobody gave`).toBe('ai-unverified');
  }
}

let store: Store | undefined;
afterEach(async () => store?.close());

describe('findings lifecycle (random sequences)', () => {
  const SEQUENCES = Number(process.env.LIFECYCLE_SEQUENCES ?? 40);
  const STEPS = 30;
  it(`${SEQUENCES} sequences of ${STEPS} steps keep the signed record, every verdict and the audit`, async () => {
    const base = Number(process.env.LIFECYCLE_SEED ?? 20261207);
    let signoffs = 0;
    let late = 0;
    let kept = 0;
    for (let s = 0; s < SEQUENCES; s++) {
      const seed = base + s;
      store = await openStore(':memory:');
      await migrate(store);
      const w: World = { store, verdicts: new Map(), signed: new Map(), log: [] };
      const r = prng(seed);
      try {
        for (let i = 0; i < STEPS; i++) {
          const before = await state(w);
          const last = (await store.db.selectFrom('audit').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst())?.seq ?? 0;
          w.log.push(await step(w, r));
          await check(w, before, last);
        }
        const chain = verifyChain((await store.db.selectFrom('audit').selectAll().orderBy('seq').execute()) as AuditRecord[]);
        expect(chain.ok).toBe(true);
      } catch (e) {
        throw new Error(`seed ${seed} (LIFECYCLE_SEED=${seed} LIFECYCLE_SEQUENCES=1), after steps:\n  ${w.log.join('\n  ')}\n${(e as Error).message}`);
      }
      signoffs += w.signed.size;
      late += Number((await store.db.selectFrom('findings_after_signoff').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      kept += (await store.db.selectFrom('audit').select('seq').where('action', '=', 'finding-ingest-kept-verdict').execute()).length;
      await store.close();
      store = undefined;
    }
    // The sequences reached the interesting states (not a vacuous pass).
    expect(signoffs).toBeGreaterThan(SEQUENCES / 2);
    expect(late).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
  });
});
