/**
 * Trust controls end to end against a real Orthanc and the real gateway: role filters on the findings
 * routes, ids that cannot be probed, settings that only admins change (audited, versioned), rollout
 * modes, AI disable per study and per modality, the indication guard, governance figures, audit export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { headCtFiles, CHEST_CR, DICOM } from '../../scripts/lib/demo-data.js';
import { copyStudy, testFinding, adultHeadCtManifest } from './testing.js';
import { isAiAllowed } from './service.js';
import type { Finding } from '../../src/core/findings/finding.js';
import type { Figures } from '../../src/core/governance/figures.js';

const HEAD_CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CHEST = '1.2.392.200036.9125.0.199302241758.16';
const CHILD = '1.2.826.0.1.3680043.9.7777.9';
const ADULT = '1.2.826.0.1.3680043.9.7777.45';
const SR_FILE = path.join(DICOM, 'pydicom', 'test_files', 'test-SR.dcm');

let stack: Stack;
const c: Record<string, Client> = {};
const f = {
  ich95: testFinding(HEAD_CT, { confidence: 0.95 }),
  ich50: testFinding(HEAD_CT, { confidence: 0.5 }),
  noduleRoutine: testFinding(HEAD_CT, { type: { value: '427359005', scheme: 'SCT', meaning: 'Solitary nodule of lung' }, label: 'Nodule', severity: 'routine', confidence: 0.99 }),
  motion: testFinding(HEAD_CT, { type: { value: 'RS-Q-MOTION', scheme: '99RS', meaning: 'Motion artefact' }, label: 'Motion', severity: 'routine', confidence: 0.4, kind: 'quality' }),
  child: testFinding(CHILD, { confidence: 0.9 }),
  adult: testFinding(ADULT, { confidence: 0.9 }),
  chest: testFinding(CHEST, { type: { value: '427359005', scheme: 'SCT', meaning: 'Solitary nodule of lung' }, label: 'Nodule', severity: 'urgent', confidence: 0.97, model: { name: 'chest-nodule', version: '1' } }),
};

async function ids(client: Client, study: string): Promise<string[]> {
  const r = await client.fetch(`/api/studies/${study}/findings`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { findings: Finding[] }).findings.map((x) => x.id).sort();
}
const put = (client: Client, p: string, body: unknown) => client.fetch(p, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const sorted = (...xs: { id: string }[]) => xs.map((x) => x.id).sort();

let tmpFiles = '';
beforeAll(async () => {
  tmpFiles = fs.mkdtempSync('/tmp/trust-int-');
  const slices = headCtFiles().slice(10, 13);
  const child = copyStudy(slices, path.join(tmpFiles, 'child'), CHILD, { '(0010,1010)': '009Y', '(0010,0020)': 'TRUST-CHILD' });
  const adult = copyStudy(slices, path.join(tmpFiles, 'adult'), ADULT, { '(0010,1010)': '045Y', '(0010,0020)': 'TRUST-ADULT' });
  const modelsDir = path.join(tmpFiles, 'models');
  fs.mkdirSync(path.join(modelsDir, 'adult-head-ct'), { recursive: true });
  fs.writeFileSync(path.join(modelsDir, 'adult-head-ct', 'manifest.json'), JSON.stringify(adultHeadCtManifest()));
  fs.writeFileSync(path.join(modelsDir, 'adult-head-ct', 'model.onnx'), Buffer.alloc(16)); // never loaded: the guard refuses first
  stack = await startStack({ files: [...slices, CHEST_CR, ...child, ...adult, SR_FILE], config: { modelsDir } });
  for (const u of ['rita', 'remy', 'erin', 'toby', 'ada', 'gus']) c[u] = await login(stack.baseUrl, u);
  // An import carries no source (the server stamps 'import'; sending one is a 422).
  const r = await c.rita.post('/api/findings', Object.values(f).map(({ source, ...rest }) => (void source, rest)));
  expect(r.status, await r.clone().text()).toBe(201);
});
afterAll(async () => {
  await stack?.stop();
  if (tmpFiles) fs.rmSync(tmpFiles, { recursive: true, force: true });
});

describe('role filters on the findings API (server side)', () => {
  it('each role gets exactly what the default policy allows', async () => {
    expect(await ids(c.rita, HEAD_CT)).toEqual(sorted(f.ich95, f.ich50, f.noduleRoutine, f.motion));
    expect(await ids(c.remy, HEAD_CT)).toEqual(sorted(f.ich95));
    expect(await ids(c.erin, HEAD_CT)).toEqual(sorted(f.ich95, f.ich50));
    expect(await ids(c.toby, HEAD_CT)).toEqual(sorted(f.motion));
    for (const u of ['ada', 'gus']) expect((await c[u].fetch(`/api/studies/${HEAD_CT}/findings`)).status, u).toBe(403);
  });

  it('a resident cannot read or act on a below-threshold finding by guessing its id (404, as if absent)', async () => {
    expect((await c.remy.fetch(`/api/findings/${f.ich50.id}/history`)).status).toBe(404);
    const v = await c.remy.post(`/api/findings/${f.ich50.id}/verdict`, { action: 'accept' });
    expect(v.status).toBe(404);
    expect(await v.text()).not.toContain('Intracranial');
    const single = await c.remy.fetch(`/api/findings/${f.ich50.id}`);
    expect([404, 405]).toContain(single.status);
    // The same id is there for the attending.
    expect((await c.rita.fetch(`/api/findings/${f.ich50.id}/history`)).status).toBe(200);
  });

  it('a technologist cannot accept a finding, not even a quality flag it can see', async () => {
    for (const id of [f.ich95.id, f.motion.id]) {
      const r = await c.toby.post(`/api/findings/${id}/verdict`, { action: 'accept' });
      expect(r.status, id).toBe(403);
    }
    expect((await c.toby.fetch(`/api/findings/${f.ich95.id}/history`)).status).toBe(404);
  });

  it('only a radiologist may sign off (mandatory verification)', async () => {
    for (const u of ['remy', 'erin', 'toby', 'ada', 'gus']) {
      const r = await c[u].post(`/api/studies/${CHEST}/signoff`, {});
      expect(r.status, u).toBe(403);
    }
    // Its nodule is still unverified: the radiologist confirms leaving it so (issue 13).
    expect((await c.rita.post(`/api/studies/${CHEST}/signoff`, {})).status).toBe(409);
    const ok = await c.rita.post(`/api/studies/${CHEST}/signoff`, { confirmUnverified: true, confirmAiPending: true });
    expect(ok.status).toBe(201);
  });
});

describe('SR content through the DICOMweb proxy', () => {
  it('a technologist cannot read SR (findings) content, but still reads images; a radiologist reads both', async () => {
    const [srStudy] = await c.rita.json<Record<string, { Value?: string[] }>[]>(`/dicom-web/studies?ModalitiesInStudy=SR`);
    const studyUID = srStudy['0020000D'].Value![0];
    const [srSeries] = await c.rita.json<Record<string, { Value?: string[] }>[]>(`/dicom-web/studies/${studyUID}/series`);
    const seriesUID = srSeries['0020000E'].Value![0];
    for (const p of [`/dicom-web/studies/${studyUID}/series/${seriesUID}/metadata`, `/dicom-web/studies/${studyUID}/metadata`, `/dicom-web/studies/${studyUID}/series/${seriesUID}/instances`]) {
      const t = await c.toby.fetch(p);
      expect(t.status, p).toBe(403);
      expect(await t.text()).toContain('SR');
      expect((await c.rita.fetch(p)).status, p).toBe(200);
    }
    expect((await c.toby.fetch(`/dicom-web/studies/${HEAD_CT}/series`)).status).toBe(200);
    expect((await c.toby.fetch(`/dicom-web/studies/${HEAD_CT}/metadata`)).status).toBe(200);
  });
});

describe('settings API: admin only, validated, versioned, audited', () => {
  it('refuses privilege escalation by every non-admin role and records the denial', async () => {
    const open = { roles: { resident: { kinds: ['diagnostic', 'quality'], minConfidence: 0 }, technologist: { kinds: ['diagnostic', 'quality'] } } };
    for (const u of ['rita', 'remy', 'erin', 'toby', 'gus']) {
      expect((await put(c[u], '/api/admin/policy', { policy: open })).status, u).toBe(403);
      expect((await put(c[u], '/api/admin/models/adult-head-ct/rollout', { mode: 'off' })).status, u).toBe(403);
      expect((await put(c[u], '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status, u).toBe(403);
      expect((await put(c[u], `/api/admin/users/${u}/role`, { role: 'admin' })).status, u).toBe(403);
      expect((await c[u].fetch('/api/admin/users')).status, u).toBe(403);
    }
    // An admin cannot change their own role either, nor give sign-off rights through the policy.
    expect((await put(c.ada, '/api/admin/users/ada/role', { role: 'radiologist' })).status).toBe(403);
    const sign = await put(c.ada, '/api/admin/policy', { policy: { roles: {}, signOffRoles: ['admin'] } });
    expect(sign.status).toBe(422);
    expect(await ids(c.toby, HEAD_CT)).toEqual(sorted(f.motion));
    const denied = await stack.gateway.store.db.selectFrom('audit').selectAll().where('action', '=', 'access-denied').where('actor', '=', 'remy').execute();
    expect(denied.length).toBeGreaterThanOrEqual(4);
  });

  it('names the bad field of an invalid policy and stores nothing', async () => {
    const r = await put(c.ada, '/api/admin/policy', { policy: { roles: { resident: { kinds: ['diagnostic'], minConfidence: 1.5 } } } });
    expect(r.status).toBe(422);
    expect(JSON.stringify(await r.json())).toContain('policy.roles.resident.minConfidence');
    const cur = await c.ada.json<{ version: number }>('/api/admin/policy');
    expect(cur.version).toBe(0);
  });

  it('an admin edit takes effect at once, is a new version with history, and is audited with before/after', async () => {
    const cur = await c.ada.json<{ version: number; policy: { roles: Record<string, { minConfidence: number }> } }>('/api/admin/policy');
    const edited = structuredClone(cur.policy);
    edited.roles.resident.minConfidence = 0.4;
    const r = await put(c.ada, '/api/admin/policy', { policy: edited, note: 'lower resident threshold', baseVersion: cur.version });
    expect(r.status).toBe(200);
    expect(await ids(c.remy, HEAD_CT)).toEqual(sorted(f.ich95, f.ich50));
    // A stale editor is refused rather than silently overwriting.
    expect((await put(c.ada, '/api/admin/policy', { policy: cur.policy, baseVersion: cur.version })).status).toBe(409);
    const back = await put(c.ada, '/api/admin/policy', { policy: cur.policy, note: 'revert' });
    expect(back.status).toBe(200);
    expect(await ids(c.remy, HEAD_CT)).toEqual(sorted(f.ich95));
    const now = await c.ada.json<{ version: number; history: { version: number; changedBy: string }[] }>('/api/admin/policy');
    expect(now.version).toBe(2);
    expect(now.history.map((h) => h.version)).toEqual([2, 1]);
    const rows = await stack.gateway.store.db.selectFrom('audit').selectAll().where('action', '=', 'settings-changed').execute();
    const change = rows.map((x) => JSON.parse(x.detail!)).find((d) => d.setting === 'role-policy' && d.toVersion === 1);
    expect(change.before.roles.resident.minConfidence).toBe(0.92);
    expect(change.after.roles.resident.minConfidence).toBe(0.4);
  });

  it('an admin changes a user role (audited) and the user list shows it', async () => {
    expect((await put(c.ada, '/api/admin/users/toby/role', { role: 'superuser' })).status).toBe(400);
    expect((await put(c.ada, '/api/admin/users/nobody/role', { role: 'resident' })).status).toBe(404);
    const users = await c.ada.json<{ users: { username: string; role: string }[] }>('/api/admin/users');
    expect(users.users.map((u) => u.username)).toContain('rita');
    expect(JSON.stringify(users)).not.toContain('password');
  });
});

describe('rollout modes', () => {
  it('silent: findings stored, none returned to a radiologist, counted in governance figures; switching needs no restart', async () => {
    expect((await put(c.ada, '/api/admin/models/adult-head-ct/rollout', { mode: 'silent' })).status).toBe(200);
    expect(await ids(c.rita, HEAD_CT)).toEqual([]);
    expect(await ids(c.erin, HEAD_CT)).toEqual([]);
    expect((await c.rita.post(`/api/findings/${f.ich95.id}/verdict`, { action: 'accept' })).status).toBe(404);
    const stored = await stack.gateway.store.db.selectFrom('findings').select('id').where('study_uid', '=', HEAD_CT).execute();
    expect(stored.length).toBe(4);
    const figs = await c.gus.json<Figures>('/api/governance/figures');
    expect(figs.models.find((x) => x.model === 'adult-head-ct')?.currentMode).toBe('silent');
    const produced = figs.summary.filter((x) => x.model === 'adult-head-ct').reduce((n, x) => n + x.produced, 0);
    expect(produced).toBe(6); // 4 on the head CT + the child's and the adult's
    // The pre-read may still run a silent model (results recorded), but not an 'off' one.
    expect(await isAiAllowed(stack.gateway.store.db, { studyUID: HEAD_CT, modality: 'CT', modelName: 'adult-head-ct' })).toEqual({ ok: true });
    expect((await put(c.ada, '/api/admin/models/adult-head-ct/rollout', { mode: 'off' })).status).toBe(200);
    // A replay of the same switch: 200, and no second record (the list of changes below).
    expect((await put(c.ada, '/api/admin/models/adult-head-ct/rollout', { mode: 'off' })).status).toBe(200);
    expect((await isAiAllowed(stack.gateway.store.db, { studyUID: HEAD_CT, modality: 'CT', modelName: 'adult-head-ct' })).ok).toBe(false);
    expect((await put(c.ada, '/api/admin/models/adult-head-ct/rollout', { mode: 'loud' })).status).toBe(400);
    expect((await put(c.ada, '/api/admin/models/..%2Fetc/rollout', { mode: 'off' })).status).toBe(400);
    expect((await put(c.ada, '/api/admin/models/adult-head-ct/rollout', { mode: 'assistive' })).status).toBe(200);
    expect(await ids(c.rita, HEAD_CT)).toEqual(sorted(f.ich95, f.ich50, f.noduleRoutine, f.motion));
    const audit = await stack.gateway.store.db.selectFrom('audit').select('detail').where('action', '=', 'settings-changed').orderBy('seq').execute();
    const modes = audit.map((a) => JSON.parse(a.detail!)).filter((d) => d.setting === 'rollout-mode').map((d) => `${d.before}->${d.after}`);
    expect(modes).toEqual(['assistive->silent', 'silent->off', 'off->assistive']);
  });

  it('governance figures: shown, accepted, rejected, agreement and false-positive rate per model', async () => {
    expect((await c.rita.post(`/api/findings/${f.ich95.id}/verdict`, { action: 'accept' })).status).toBe(200);
    expect((await c.rita.post(`/api/findings/${f.noduleRoutine.id}/verdict`, { action: 'reject', reason: 'false-positive' })).status).toBe(200);
    const figs = await c.gus.json<Figures>('/api/governance/figures');
    // Produced while the model was assistive, all CT, this week: one summary row (gateway/governance).
    const rows = figs.summary.filter((x) => x.model === 'adult-head-ct');
    expect(rows.length).toBe(1);
    const m = rows[0];
    // The false-positive rate is over findings shown (issue 17), not over verdicts.
    expect(m).toMatchObject({ mode: 'assistive', modality: 'CT', shown: 4, verdicts: 2, agreementRate: 0.5, falsePositiveRate: 0.25 });
    expect(m.byVerdict).toMatchObject({ accepted: 1, rejected: 1 });
    expect(m.rejectedBy['false-positive']).toBe(1);
    // Counted through the same reader policy: the 9-year-old's finding is outside the adult-only indication;
    // the adult's is visible but nobody opened it. Every produced finding is in exactly one state.
    expect(m.produced).toBe(6);
    expect(m.byVisibility).toMatchObject({ shown: 4, 'not-opened': 1, 'hidden-indication': 1, 'hidden-ai-disabled': 0, 'hidden-rollout': 0 });
    for (const u of ['rita', 'remy', 'erin', 'toby']) expect((await c[u].fetch('/api/governance/figures')).status, u).toBe(403);
  });
});

describe('disable AI', () => {
  it('per study: a radiologist switches it off with a reason; nothing shown, pre-read refused, reversible, audited', async () => {
    expect((await c.remy.post(`/api/studies/${HEAD_CT}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(403);
    const badReason = await c.rita.post(`/api/studies/${HEAD_CT}/ai-disabled`, { reason: 'because' });
    expect(badReason.status).toBe(400);
    expect(await badReason.text()).toContain('reason');
    expect((await c.rita.post(`/api/studies/not-a-uid/ai-disabled`, { reason: 'patient-declined' })).status).toBe(400);
    expect((await c.rita.post(`/api/studies/${HEAD_CT}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(201);
    const row = () => stack.gateway.store.db.selectFrom('ai_disabled_studies').selectAll().where('study_uid', '=', HEAD_CT).executeTakeFirstOrThrow();
    const first = await row();
    // A replay (or a second tab) with the same reason: 200, the same answer; who and when unchanged, no
    // second record (counted below).
    const again = await c.rita.post(`/api/studies/${HEAD_CT}/ai-disabled`, { reason: 'patient-declined' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ study: HEAD_CT, disabled: true, reason: 'Patient declined AI analysis' });
    expect(await row()).toEqual(first);
    expect(await ids(c.rita, HEAD_CT)).toEqual([]);
    expect(await ids(c.toby, HEAD_CT)).toEqual([]);
    const allowed = await isAiAllowed(stack.gateway.store.db, { studyUID: HEAD_CT, modality: 'CT' });
    expect(allowed).toMatchObject({ ok: false, code: 'study-disabled' });
    const st = await c.rita.json<{ aiEnabled: boolean; summary: string; disabled: { reason: string } }>(`/api/studies/${HEAD_CT}/ai-status`);
    expect(st.aiEnabled).toBe(false);
    expect(st.disabled.reason).toBe('Patient declined AI analysis');
    expect(st.summary).toContain('Patient declined');
    // The study itself still reads: DICOMweb is untouched.
    expect((await c.rita.fetch(`/dicom-web/studies/${HEAD_CT}/series`)).status).toBe(200);
    expect((await c.rita.fetch(`/api/studies/${HEAD_CT}/ai-disabled`, { method: 'DELETE' })).status).toBe(200);
    expect((await c.rita.fetch(`/api/studies/${HEAD_CT}/ai-disabled`, { method: 'DELETE' })).status).toBe(404);
    expect(await ids(c.rita, HEAD_CT)).toEqual(sorted(f.ich95, f.ich50, f.noduleRoutine, f.motion));
    const acts = await stack.gateway.store.db.selectFrom('audit').select(['action', 'study_uid', 'actor']).where('study_uid', '=', HEAD_CT).execute();
    expect(acts.filter((a) => a.action === 'ai-disabled-study' && a.actor === 'rita')).toHaveLength(1);
    expect(acts.filter((a) => a.action === 'ai-enabled-study' && a.actor === 'rita')).toHaveLength(1);
  });

  it('per modality: an admin switches CT off; CT findings hidden, CR unaffected; reversible', async () => {
    expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['ct'] })).status).toBe(400);
    expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status).toBe(200);
    // A replay: 200, recorded once (counted at the end).
    expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status).toBe(200);
    expect(await ids(c.rita, HEAD_CT)).toEqual([]);
    expect(await ids(c.rita, CHEST)).toEqual(sorted(f.chest));
    expect(await isAiAllowed(stack.gateway.store.db, { studyUID: HEAD_CT, modality: 'CT' })).toMatchObject({ ok: false, code: 'modality-disabled' });
    expect(await isAiAllowed(stack.gateway.store.db, { studyUID: CHEST, modality: 'CR' })).toEqual({ ok: true });
    const st = await c.rita.json<{ summary: string }>(`/api/studies/${HEAD_CT}/ai-status`);
    expect(st.summary).toContain('modality CT');
    expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] })).status).toBe(200);
    expect(await ids(c.rita, HEAD_CT)).toHaveLength(4);
    const audit = await stack.gateway.store.db.selectFrom('audit').select('detail').where('action', '=', 'settings-changed').orderBy('seq').execute();
    const sets = audit.map((a) => JSON.parse(a.detail!)).filter((d) => d.setting === 'ai-disabled-modalities').map((d) => `${d.before.join()}->${d.after.join()}`);
    expect(sets).toEqual(['->CT', 'CT->']);
  });
});

describe('indication guard', () => {
  it('a 9-year-old head CT is outside an adult-only model; the reason is shown; a 45-year-old is inside', async () => {
    const child = await c.rita.json<{ patientAgeYears: number; aiEnabled: boolean; models: { name: string; state: string; reason?: string }[]; summary: string }>(`/api/studies/${CHILD}/ai-status`);
    expect(child.patientAgeYears).toBe(9);
    expect(child.aiEnabled).toBe(false);
    expect(child.models).toEqual([expect.objectContaining({ name: 'adult-head-ct', state: 'outside-indication', reason: 'outside indication: age 9 < 18' })]);
    expect(child.summary).toContain('age 9 < 18');
    const adult = await c.rita.json<{ aiEnabled: boolean; models: { state: string }[] }>(`/api/studies/${ADULT}/ai-status`);
    expect(adult.aiEnabled).toBe(true);
    expect(adult.models[0].state).toBe('shown');
    // Findings of that model on the child's study are never shown (e.g. imported before the guard existed); the adult's are.
    expect(await ids(c.rita, CHILD)).toEqual([]);
    expect(await ids(c.rita, ADULT)).toEqual(sorted(f.adult));
    // The server refuses AI results computed in a browser outside the indication.
    const client = testFinding(CHILD, { source: 'client' });
    const r = await c.rita.post(`/api/studies/${CHILD}/ai-results`, { model: { name: 'adult-head-ct', version: '1.0.0' }, provider: 'wasm', findings: [client] });
    expect(r.status).toBe(409);
    expect(await r.text()).toContain('age 9 < 18');
    const okAdult = await c.rita.post(`/api/studies/${ADULT}/ai-results`, { model: { name: 'adult-head-ct', version: '1.0.0' }, provider: 'wasm', findings: [testFinding(ADULT, { source: 'client' })] });
    expect(okAdult.status, await okAdult.clone().text()).toBeLessThan(300);
    const cr = await c.rita.json<{ models: { state: string; reason: string }[] }>(`/api/studies/${CHEST}/ai-status`);
    expect(cr.models[0]).toMatchObject({ state: 'outside-indication', reason: expect.stringContaining('modality CR') });
  });
});

describe('audit trail', () => {
  it('records overlay toggles sent by the viewer, validating them', async () => {
    expect((await c.rita.post('/api/audit/client-events', { action: 'overlay-toggled', studyUID: HEAD_CT, visible: false })).status).toBe(201);
    const badAction = await c.rita.post('/api/audit/client-events', { action: 'settings-changed', studyUID: HEAD_CT, visible: false });
    expect(badAction.status).toBe(400);
    expect(await badAction.text()).toContain('body.action');
    expect((await c.ada.post('/api/audit/client-events', { action: 'overlay-toggled', studyUID: HEAD_CT, visible: true })).status).toBe(403);
  });

  it('a showing is recorded once: the same findings again to the same user within a minute add no record; another user, or another set, does', async () => {
    const db = stack.gateway.store.db;
    const shown = async () => (await db.selectFrom('audit').select(['actor', 'detail']).where('action', '=', 'finding-shown').where('study_uid', '=', CHEST).execute()).length;
    const remy = await login(stack.baseUrl, 'remy');
    const before = await shown();
    expect(await ids(remy, CHEST)).toContain(f.chest.id);
    const once = await shown();
    expect(once).toBeGreaterThanOrEqual(before); // remy may have been shown these already in this file
    expect(await ids(remy, CHEST)).toContain(f.chest.id);
    expect(await ids(remy, CHEST)).toContain(f.chest.id);
    expect(await shown()).toBe(once);
    // Another user is a new showing; the first time each finding was shown stays recorded.
    const erin = await login(stack.baseUrl, 'erin');
    const seen = await ids(erin, CHEST);
    if (seen.length) expect(await shown()).toBe(once + 1);
    expect(await db.selectFrom('findings_shown').select('first_shown_at').where('finding_id', '=', f.chest.id).executeTakeFirst()).toBeDefined();
  });

  it('records the actions of this capability and the others present', async () => {
    await (await login(stack.baseUrl, 'gus')).fetch('/api/auth/logout', { method: 'POST' });
    const actions = new Set((await stack.gateway.store.db.selectFrom('audit').select('action').execute()).map((a) => a.action));
    for (const a of ['application-start', 'login', 'logout', 'access-denied', 'settings-changed', 'ai-disabled-study', 'ai-enabled-study', 'finding-shown', 'finding-imported', 'finding-accepted', 'finding-rejected', 'study-signed-off', 'overlay-toggled', 'ai-results-received']) {
      expect(actions.has(a), a).toBe(true);
    }
  });

  it('exports JSON lines, CSV and DICOM audit messages for a date range (admin, governance only; de-identified)', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const q = (fmt: string) => `/api/audit/export?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&format=${fmt}`;
    for (const u of ['rita', 'remy', 'erin', 'toby']) expect((await c[u].fetch(q('jsonl'))).status, u).toBe(403);
    expect((await c.ada.fetch(`/api/audit/export?from=yesterday&to=${encodeURIComponent(to)}`)).status).toBe(400);
    expect((await c.ada.fetch(q('pdf'))).status).toBe(400);

    const jsonl = await (await c.ada.fetch(q('jsonl'))).text();
    const recs = jsonl.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.length).toBeGreaterThan(20);
    expect(recs.some((r) => r.actor === 'rita' && r.action === 'ai-disabled-study' && r.studyUID === HEAD_CT)).toBe(true);
    expect(jsonl).not.toMatch(/Reader\^Rita|lower resident threshold/); // no display names, no free text

    const gov = await (await c.gus.fetch(q('jsonl'))).text();
    expect(gov).not.toMatch(/"actor":"(rita|remy|ada)"/);
    expect(gov).toMatch(/"actor":"user-[0-9a-f]{12}"/);

    const csv = await (await c.ada.fetch(q('csv'))).text();
    expect(csv.split('\r\n')[0]).toBe('seq,at,actor,role,action,outcome,studyUID,findingId,detail,hash,mac,verified');
    expect(csv.split('\r\n').length).toBeGreaterThan(recs.length);
    // Every exported record's link, hash and keyed MAC held (gateway/audit/key.ts).
    expect(recs.every((r) => r.verified === true && /^[0-9a-f]{64}$/.test(r.mac))).toBe(true);

    const xr = await c.ada.fetch(q('dicom'));
    expect(xr.headers.get('content-type')).toMatch(/xml/);
    const xml = await xr.text();
    // Well-formed XML, checked by an independent parser.
    const count = execFileSync('/usr/bin/python3', ['-c', 'import sys,xml.dom.minidom as m; d=m.parseString(sys.stdin.read()); print(len(d.getElementsByTagName("AuditMessage")))'], { input: xml }).toString().trim();
    expect(Number(count)).toBeGreaterThan(20);
    expect(xml).toMatch(/<EventID csd-code="110114" codeSystemName="DCM" originalText="User Authentication"\/>/);
    expect(xml).toMatch(/<EventTypeCode csd-code="110122" codeSystemName="DCM" originalText="Login"\/>/);
    expect(xml).toMatch(/EventOutcomeIndicator="4"/);
    expect(xml).toContain(`ParticipantObjectID="${HEAD_CT}" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3"><ParticipantObjectIDTypeCode csd-code="110180"`);
    expect(xml).toMatch(/csd-code="110106"/);
  });
});
