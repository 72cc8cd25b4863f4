/**
 * Triage equals the policy applied to the current findings, after every step of a random (seeded)
 * sequence of lifecycle acts against the real gateway and a real Orthanc: imports of findings of
 * two models (critical, urgent, routine, any confidence), accept / reject / undo, AI disabled and
 * enabled for the study, rollout changes of either model, role policy changes, and at the end the
 * sign-off. After each step, for every reading role:
 *  - its triage on /api/triage and /api/studies/:s/preread is prioritise() over exactly the findings
 *    the findings API gives that role (the reader policy's own output), reason included;
 *  - a role without diagnostic findings gets no priority and no reason;
 *  - the alert of the study is open for an alert role iff its own view is critical and the study is
 *    not signed off;
 *  - every change of the stored triage is in the audit trail with its cause.
 * The sequence is printed when a step fails, so a failure can be replayed (SEED=...).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from './study-builder.js';
import { DEFAULT_POLICY } from '../../src/core/policy/policy.js';
import { DEFAULT_TRIAGE_RULES, prioritise } from '../../src/core/triage/triage.js';
import type { Finding } from '../../src/core/findings/finding.js';

const SEED = Number(process.env.SEED ?? 20261207);
const STEPS = 60;

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = [
  { type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Intracranial hemorrhage', severity: 'critical' },
  { type: { value: '125605004', scheme: 'SCT', meaning: 'Fracture of bone' }, label: 'Fracture', severity: 'urgent' },
  { type: { value: '427359005', scheme: 'SCT', meaning: 'Solitary nodule of lung' }, label: 'Nodule', severity: 'routine' },
] as const;
const MODELS = ['seq-model-a', 'seq-model-b'];
const ROLES = { rita: 'radiologist', remy: 'resident', erin: 'er-attending', toby: 'technologist' } as const;
type User = keyof typeof ROLES;
type View = { priority: string | null; reason: string | null; status: string; aiState: string };

let stack: Stack;
let study: BuiltStudy;
const c: Record<string, Client> = {};
const put = (client: Client, p: string, body: unknown) => client.fetch(p, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  stack = await startStack();
  for (const u of ['rita', 'remy', 'erin', 'toby', 'ada']) c[u] = await login(stack.baseUrl, u);
  study = await buildHeadCtStudy({ patientAge: '058Y', slices: 3 });
  await cStore(study.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
  await waitFor('read', async () => {
    const r = await c.rita.fetch(`/api/studies/${study.studyInstanceUID}/preread`);
    return r.ok && ['done', 'failed'].includes(((await r.json()) as View).aiState);
  });
});

afterAll(async () => {
  await stack?.stop();
  study?.remove();
});

describe('triage = the reader policy applied to the current findings, after every step', () => {
  it(`a random sequence of ${STEPS} lifecycle acts (seed ${SEED})`, async () => {
    const uid = study.studyInstanceUID;
    const rand = rng(SEED);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const log: string[] = [];
    const triage = stack.gateway.preread.triage;
    const thresholds = stack.gateway.preread.catalog.thresholds();
    let disabled = false;
    let n = 0;

    const check = async (step: string) => {
      await triage.settled();
      const final = step.startsWith('sign-off');
      for (const u of Object.keys(ROLES) as User[]) {
        const list = await c[u].json<{ studies: Record<string, View> }>('/api/triage');
        const one = await c[u].json<View>(`/api/studies/${uid}/preread`);
        for (const v of [list.studies[uid], one]) {
          expect(v.status, `${u} status`).toBe(final ? 'final' : 'unsigned');
          if (u === 'toby') {
            expect(v.priority, u).toBeNull();
            expect(v.reason, u).toBeNull();
            continue;
          }
          const { findings } = await c[u].json<{ findings: Finding[] }>(`/api/studies/${uid}/findings`);
          const expected = prioritise(findings, DEFAULT_TRIAGE_RULES, thresholds);
          expect(v.priority, `${u} priority over ${findings.map((f) => `${f.id}:${f.status}:${f.confidence}`).join(',')}`).toBe(expected.priority);
          if (expected.priority !== 'none') expect(v.reason, u).toBe(expected.reason);
          else expect(v.reason ?? '', u).not.toMatch(/suspected/);
          if (u === 'rita' || u === 'erin') {
            const alerts = (await c[u].json<{ alerts: { studyUID: string; reason: string }[] }>('/api/alerts')).alerts.filter((a) => a.studyUID === uid);
            const shouldBeOpen = v.priority === 'critical' && !final;
            expect(alerts.length, `${u} alert open`).toBe(shouldBeOpen ? 1 : 0);
            if (shouldBeOpen) expect(alerts[0].reason).toBe(v.reason);
          }
        }
      }
      // The stored study-level triage is audited whenever it changes: its latest audited 'to' is what is stored.
      const row = await stack.gateway.store.db.selectFrom('preread_studies').select(['priority', 'reason']).where('study_uid', '=', uid).executeTakeFirstOrThrow();
      const changes = await stack.gateway.store.db.selectFrom('audit').select('detail').where('study_uid', '=', uid).where('action', '=', 'triage-changed').orderBy('seq', 'desc').limit(1).execute();
      if (changes.length) expect(JSON.parse(changes[0].detail!).to).toMatchObject({ priority: row.priority, reason: row.reason });
    };

    const steps: (() => Promise<string | null>)[] = [
      async () => {
        const t = pick(TYPES);
        const id = `seq-${SEED}-${++n}`;
        const model = pick(MODELS);
        const confidence = Math.round((0.3 + rand() * 0.69) * 100) / 100;
        const r = await c.ada.post('/api/findings', {
          id,
          studyInstanceUID: uid,
          type: t.type,
          label: t.label,
          severity: t.severity,
          confidence,
          regions: [{ image: { seriesInstanceUID: study.seriesInstanceUID, sopInstanceUID: `${study.seriesInstanceUID}.1` }, box: { x: 50 + n, y: 60, width: 20, height: 20 } }],
          model: { name: model, version: '1' },
        });
        expect(r.status, await r.clone().text()).toBe(201);
        return `import ${id} ${t.label} ${confidence} ${model}`;
      },
      async () => {
        const { findings } = await c.rita.json<{ findings: Finding[] }>(`/api/studies/${uid}/findings`);
        const open = findings.filter((f) => f.status === 'ai-unverified' && f.id.startsWith('seq-'));
        if (!open.length) return null;
        const f = pick(open);
        const action = rand() < 0.6 ? 'reject' : 'accept';
        expect((await c.rita.post(`/api/findings/${f.id}/verdict`, { action })).status).toBe(200);
        return `${action} ${f.id}`;
      },
      async () => {
        const { findings } = await c.rita.json<{ findings: Finding[] }>(`/api/studies/${uid}/findings`);
        const decided = findings.filter((f) => (f.status === 'rejected' || f.status === 'accepted') && f.id.startsWith('seq-'));
        if (!decided.length) return null;
        const f = pick(decided);
        expect((await c.rita.post(`/api/findings/${f.id}/verdict`, { action: 'undo' })).status).toBe(200);
        return `undo ${f.id}`;
      },
      async () => {
        if (rand() < 0.5 && !disabled) {
          expect((await c.rita.post(`/api/studies/${uid}/ai-disabled`, { reason: 'research-protocol' })).status).toBe(201);
          disabled = true;
          return 'disable AI for the study';
        }
        if (!disabled) return null;
        expect((await c.rita.fetch(`/api/studies/${uid}/ai-disabled`, { method: 'DELETE' })).status).toBe(200);
        disabled = false;
        return 'enable AI for the study';
      },
      async () => {
        const model = pick(MODELS);
        const mode = pick(['assistive', 'assistive', 'silent', 'off'] as const);
        expect((await put(c.ada, `/api/admin/models/${model}/rollout`, { mode })).status).toBe(200);
        return `rollout ${model} ${mode}`;
      },
      async () => {
        const policy = structuredClone(DEFAULT_POLICY);
        const minConfidence = pick([0.5, 0.92, 0.97]);
        policy.roles.resident = { ...policy.roles.resident!, minConfidence };
        const erinTypes = rand() < 0.5;
        if (erinTypes) policy.roles['er-attending'] = { ...policy.roles['er-attending']!, findingTypes: [{ value: '36118008', scheme: 'SCT' }] };
        expect((await put(c.ada, '/api/admin/policy', { policy })).status).toBe(200);
        return `policy resident>=${minConfidence}${erinTypes ? ', ER attending pneumothorax only' : ''}`;
      },
    ];
    const weights = [4, 3, 3, 1, 1, 1];
    const table = weights.flatMap((w, i) => Array.from({ length: w }, () => i));

    try {
      await check('start');
      for (let i = 0; i < STEPS; i++) {
        const what = await steps[pick(table)]();
        if (!what) continue;
        log.push(what);
        await check(what);
      }
      // Last: everything visible and assistive again, then the sign-off.
      await put(c.ada, '/api/admin/policy', { policy: DEFAULT_POLICY });
      for (const m of MODELS) await put(c.ada, `/api/admin/models/${m}/rollout`, { mode: 'assistive' });
      if (disabled) await c.rita.fetch(`/api/studies/${uid}/ai-disabled`, { method: 'DELETE' });
      log.push('restore', 'sign-off');
      const so = await c.rita.post(`/api/studies/${uid}/signoff`, { confirmUnverified: true, confirmAiPending: true });
      expect(so.status, await so.clone().text()).toBe(201);
      await check('sign-off');
      // Each kind of act was exercised.
      for (const k of ['import', 'reject', 'undo', 'rollout', 'policy']) expect(log.some((l) => l.startsWith(k)), k).toBe(true);
    } catch (e) {
      console.error(`sequence (seed ${SEED}):\n  ${log.join('\n  ')}`);
      throw e;
    }
  });
});
