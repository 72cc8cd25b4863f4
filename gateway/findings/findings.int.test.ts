/**
 * Findings API against the real stack (real Orthanc + gateway + SQLite): import validation,
 * verdicts with server-side attribution, undo, sign-off lock, audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { seedDemoFindings } from '../../scripts/seed-demo-findings.js';
import { verifyChain, type AuditRecord } from '../audit/audit.js';
import type { Finding } from '../../src/core/findings/finding.js';

const CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CR = '1.2.392.200036.9125.0.199302241758.16';
let stack: Stack;
let rita: Client;
let ada: Client;

beforeAll(async () => {
  stack = await startStack();
  await seedDemoFindings(stack.gateway.store.db);
  rita = await login(stack.baseUrl, 'rita');
  ada = await login(stack.baseUrl, 'ada');
});
afterAll(async () => stack?.stop());

const list = async (c: Client, study: string) => (await c.json<{ findings: Finding[]; signoff: unknown }>(`/api/studies/${study}/findings`)).findings;
const audit = () => stack.gateway.store.db.selectFrom('audit').selectAll().orderBy('seq').execute() as Promise<AuditRecord[]>;

describe('findings API', () => {
  it('lists a study’s findings sorted by severity then confidence', async () => {
    const fs = await list(rita, CT);
    expect(fs.map((f) => f.id)).toEqual(['fixture-ct-ich-1', 'fixture-ct-ich-2', 'fixture-ct-fracture-1']);
    expect(fs.every((f) => f.status === 'ai-unverified')).toBe(true);
  });

  it('rejects a malformed finding with 422 naming the field, and loses nothing', async () => {
    const before = await list(rita, CR);
    // What an integration sends: no status, verdict, source or times (the server stamps those; sending them is a 422, see ingest.int).
    const { status, verdict, source, createdAt, ingestedBy, ...importable } = before[0];
    void status, void verdict, void source, void createdAt, void ingestedBy;
    const good = { ...importable, id: 'import-good-1' };
    const bad = { ...importable, id: 'import-bad-1', confidence: 7, regions: [{ image: { seriesInstanceUID: '1.2', sopInstanceUID: '1.2.3' }, box: { x: 1, y: 1, width: 0, height: 2 } }] };
    const r = await ada.post('/api/findings', [good, bad]);
    expect(r.status).toBe(422);
    const body = (await r.json()) as { details: { index: number; errors: string[] }[] };
    expect(body.details).toHaveLength(1);
    expect(body.details[0].index).toBe(1);
    expect(body.details[0].errors).toEqual(expect.arrayContaining(['confidence: must be between 0 and 1', 'regions.0.box.width: must be > 0']));
    // Nothing of the batch was stored, and nothing existing changed.
    expect(await list(rita, CR)).toEqual(before);
    // Non-JSON-object garbage also gets a clear 4xx.
    const r2 = await ada.post('/api/findings', { id: 'x' });
    expect(r2.status).toBe(422);
    expect(JSON.stringify(await r2.json())).toContain('studyInstanceUID');
  });

  it('accepts, rejects with a reason and undoes, attributing the verdict server-side', async () => {
    const r = await rita.post('/api/findings/fixture-ct-ich-2/verdict', { action: 'reject', reason: 'false-positive' });
    expect(r.status).toBe(200);
    const { finding } = (await r.json()) as { finding: Finding };
    expect(finding.status).toBe('rejected');
    expect(finding.verdict).toMatchObject({ by: 'rita', role: 'radiologist', reason: 'false-positive' });
    expect(Date.now() - Date.parse(finding.verdict!.at)).toBeLessThan(60_000);
    // the client cannot choose who or when
    const forged = await rita.post('/api/findings/fixture-ct-ich-2/verdict', { action: 'accept', verdict: { by: 'someone-else' } });
    expect(forged.status).toBe(422);
    expect(JSON.stringify(await forged.json())).toContain('verdict');

    const acc = await rita.post('/api/findings/fixture-ct-ich-2/verdict', { action: 'accept' });
    expect(((await acc.json()) as { finding: Finding }).finding.status).toBe('accepted');
    const u1 = (await (await rita.post('/api/findings/fixture-ct-ich-2/verdict', { action: 'undo' })).json()) as { finding: Finding };
    expect(u1.finding.status).toBe('rejected');
    const u2 = (await (await rita.post('/api/findings/fixture-ct-ich-2/verdict', { action: 'undo' })).json()) as { finding: Finding };
    expect(u2.finding.status).toBe('ai-unverified');
    expect(u2.finding.verdict).toBeUndefined();
    const u3 = await rita.post('/api/findings/fixture-ct-ich-2/verdict', { action: 'undo' });
    expect(u3.status).toBe(409);
  });

  it('modify creates a linked finding (originalId) and undo brings the AI original back', async () => {
    const r = await rita.post('/api/findings/fixture-ct-ich-1/verdict', { action: 'modify', changes: { box: { x: 160, y: 210, width: 60, height: 50 } } });
    expect(r.status).toBe(200);
    const { finding, replaces } = (await r.json()) as { finding: Finding; replaces: string };
    expect(replaces).toBe('fixture-ct-ich-1');
    expect(finding).toMatchObject({ id: 'fixture-ct-ich-1~mod', originalId: 'fixture-ct-ich-1', status: 'modified' });
    expect(finding.regions[0].box).toEqual({ x: 160, y: 210, width: 60, height: 50 });
    expect(finding.regions[1].box).toEqual({ x: 156, y: 206, width: 68, height: 60 });
    let ids = (await list(rita, CT)).map((f) => f.id);
    expect(ids).toContain('fixture-ct-ich-1~mod');
    expect(ids).not.toContain('fixture-ct-ich-1');

    const bad = await rita.post('/api/findings/fixture-ct-ich-1~mod/verdict', { action: 'modify', changes: { regionIndex: 9, box: { x: 1, y: 1, width: 2, height: 2 } } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain('changes.regionIndex');

    const undo = await rita.post('/api/findings/fixture-ct-ich-1~mod/verdict', { action: 'undo' });
    expect(((await undo.json()) as { finding: Finding }).finding).toMatchObject({ id: 'fixture-ct-ich-1', status: 'ai-unverified' });
    ids = (await list(rita, CT)).map((f) => f.id);
    expect(ids).toContain('fixture-ct-ich-1');
    expect(ids).not.toContain('fixture-ct-ich-1~mod');
    const hist = await rita.json<{ history: { action: string; undone: boolean }[] }>('/api/findings/fixture-ct-ich-1/history');
    expect(hist.history.map((h) => [h.action, h.undone])).toEqual([['modify', true]]);
  });

  it('limits verdicts to reading roles and 404s unknown findings', async () => {
    const toby = await login(stack.baseUrl, 'toby');
    expect((await toby.post('/api/findings/fixture-ct-ich-1/verdict', { action: 'accept' })).status).toBe(403);
    expect((await rita.post('/api/findings/nope/verdict', { action: 'accept' })).status).toBe(404);
    const remy = await login(stack.baseUrl, 'remy');
    expect((await remy.post(`/api/studies/${CR}/signoff`, {})).status).toBe(403);
  });

  it('a verdict, a settings change or a sign-off whose audit record cannot be written is not kept: the act and its record commit together', async () => {
    const db = stack.gateway.store.db;
    const before = await list(rita, CT);
    const verdicts = async () => (await db.selectFrom('finding_verdicts').select('seq').execute()).length;
    const recorded = async () => (await audit()).filter((a) => a.action.startsWith('finding-')).length;
    const [v0, a0] = [await verdicts(), await recorded()];
    const rollout = () => db.selectFrom('model_rollout').selectAll().execute();
    const rollout0 = await rollout();
    // The audit table refuses new records for a moment (what a full disk or a dropped connection does mid-transaction).
    await whileAuditRefused(db, async () => {
      const r = await rita.post('/api/findings/fixture-ct-fracture-1/verdict', { action: 'accept' });
      expect(r.status).toBe(500);
      // A settings change the same way: not kept without its record.
      const put = await ada.fetch('/api/admin/models/head-ct-hyperdensity/rollout', { method: 'PUT', body: JSON.stringify({ mode: 'silent' }), headers: { 'content-type': 'application/json' } });
      expect(put.status).toBe(500);
      expect((await rita.post(`/api/studies/${CT}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(500);
      // The sign-off: not signed, nothing enqueued for the PACS or the RIS.
      expect((await rita.post(`/api/studies/${CR}/signoff`, { confirmUnverified: true })).status).toBe(500);
    });
    // Neither the verdict nor its history row was kept.
    expect(await list(rita, CT)).toEqual(before);
    expect(await verdicts()).toBe(v0);
    expect(await recorded()).toBe(a0);
    expect(await rollout()).toEqual(rollout0);
    expect(await db.selectFrom('ai_disabled_studies').selectAll().where('study_uid', '=', CT).execute()).toEqual([]);
    expect(await db.selectFrom('study_signoffs').selectAll().where('study_uid', '=', CR).execute()).toEqual([]);
    expect(await db.selectFrom('outbox').selectAll().where('study_uid', '=', CR).execute()).toEqual([]);
    expect(verifyChain(await audit()).ok).toBe(true);
  });

  it('signs off: unverified stay unverified (after an explicit confirmation, recorded), verdicts are then locked (409), all audited', async () => {
    await rita.post('/api/findings/fixture-cr-nodule-1/verdict', { action: 'accept' });
    // One unverified finding left: the first request is refused, listing it; the second confirms.
    const ask = await rita.post(`/api/studies/${CR}/signoff`, {});
    expect(ask.status).toBe(409);
    expect(((await ask.json()) as { unverified: { id: string }[] }).unverified.map((u) => u.id)).toEqual(['fixture-cr-nodule-2']);
    const s = await rita.post(`/api/studies/${CR}/signoff`, { confirmUnverified: true });
    expect(s.status).toBe(201);
    expect(await s.json()).toMatchObject({ signedBy: 'rita', verified: 1, unverified: 1, rejected: 0, unverifiedIds: ['fixture-cr-nodule-2'] });
    const fs = await list(rita, CR);
    expect(fs.find((f) => f.id === 'fixture-cr-nodule-2')?.status).toBe('ai-unverified');
    const late = await rita.post('/api/findings/fixture-cr-nodule-2/verdict', { action: 'accept' });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: string }).error).toMatch(/signed off/);
    expect((await rita.post('/api/findings/fixture-cr-nodule-1/verdict', { action: 'undo' })).status).toBe(409);
    expect((await rita.post(`/api/studies/${CR}/signoff`, { confirmUnverified: true })).status).toBe(409);
    // The sign-off enqueued the verified SR and the final ORU in its own transaction, with the
    // verified findings only (the unverified nodule stays out of the report).
    const outbox = await stack.gateway.store.db.selectFrom('outbox').selectAll().where('study_uid', '=', CR).execute();
    const sr = outbox.find((r) => r.kind === 'sr-stow');
    const oru = outbox.find((r) => r.kind === 'hl7-oru');
    expect(sr && JSON.parse(sr.payload)).toMatchObject({ kind: 'verified', signer: { username: 'rita' } });
    expect(JSON.parse(sr!.payload).findings.map((f: Finding) => f.id)).toEqual(['fixture-cr-nodule-1']);
    expect(oru && JSON.parse(oru.payload).status).toBe('F');
    const listed = await rita.json<{ signoff: { signedBy: string; unverifiedIds: string[]; srState: string; oruState: string } }>(`/api/studies/${CR}/findings`);
    expect(listed.signoff).toMatchObject({ signedBy: 'rita', unverifiedIds: ['fixture-cr-nodule-2'] });
    expect(listed.signoff.srState).not.toBe('none');
    expect(listed.signoff.oruState).not.toBe('none');

    const rows = await audit();
    expect(verifyChain(rows).ok).toBe(true);
    const actions = rows.map((r) => `${r.action}:${r.finding_id ?? r.study_uid}:${r.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'finding-rejected:fixture-ct-ich-2:0',
        'finding-accepted:fixture-ct-ich-2:0',
        'finding-verdict-undone:fixture-ct-ich-2:0',
        'finding-modified:fixture-ct-ich-1~mod:0',
        'finding-verdict-undone:fixture-ct-ich-1:0',
        `study-signed-off:${CR}:0`,
        'finding-accept:fixture-cr-nodule-2:4',
      ]),
    );
  });

  it('an addendum whose audit record cannot be written is not kept, nor its corrected results', async () => {
    const db = stack.gateway.store.db;
    const outbox0 = (await db.selectFrom('outbox').select('id').where('study_uid', '=', CR).execute()).length;
    await whileAuditRefused(db, async () => {
      expect((await rita.post(`/api/studies/${CR}/addendum`, { text: 'Nodule size corrected.' })).status).toBe(500);
    });
    expect(await db.selectFrom('report_addenda').selectAll().where('study_uid', '=', CR).execute()).toEqual([]);
    expect((await db.selectFrom('outbox').select('id').where('study_uid', '=', CR).execute()).length).toBe(outbox0);
    // With the audit back, the same addendum goes through, recorded.
    expect((await rita.post(`/api/studies/${CR}/addendum`, { text: 'Nodule size corrected.' })).status).toBe(201);
    expect((await audit()).filter((a) => a.action === 'report-addendum' && a.study_uid === CR)).toHaveLength(1);
  });
});
