/**
 * The measurements capability through the HTTP API, nothing mocked (real gateway, real Orthanc for
 * the sign-off's study check): the server stamps who and when, a client cannot set them, a deletion
 * keeps the row and a PUT of the same id restores it, roles come from the permission table, every
 * change is audited, and after sign-off nothing changes (409).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { startStack, login, type Client, type Stack } from '../../test/harness.js';
import { HEAD_CT_DIR } from '../../scripts/lib/demo-data.js';
import { PERMISSIONS } from '../../src/core/auth/permissions.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const body = { tool: 'length', seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4', frameNumber: 1, points: [[0, 0, 0], [30, 40, 0]], stats: { length: 50, unit: 'mm' } };
const put = (c: Client, id: string, b: unknown) => c.fetch(`/api/studies/${STUDY}/measurements/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });

let stack: Stack;
let rita: Client;
let remy: Client;
let toby: Client;
let prevPreread: string | undefined;

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  stack = await startStack({ files: [path.join(HEAD_CT_DIR, '05.dcm')] });
  [rita, remy, toby] = await Promise.all(['rita', 'remy', 'toby'].map((u) => login(stack.baseUrl, u)));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('measurements API', () => {
  it('the table says who may read and write', () => {
    expect(PERMISSIONS['measurements.write']).toEqual(['radiologist', 'resident']);
    expect(PERMISSIONS['measurements.read']).toContain('technologist');
  });

  it('stores with the server stamping who and when; a client cannot set them', async () => {
    const r = await put(rita, 'm-1', body);
    expect(r.status).toBe(201);
    const m = (await r.json()) as Record<string, unknown>;
    expect(m).toMatchObject({ id: 'm-1', studyInstanceUID: STUDY, createdBy: 'rita', updatedBy: 'rita', tool: 'length' });
    expect(Math.abs(Date.now() - Date.parse(String(m.createdAt)))).toBeLessThan(30_000);
    const forged = await put(rita, 'm-2', { ...body, createdBy: 'erin', createdAt: '2001-01-01T00:00:00Z' });
    expect(forged.status).toBe(422);
    expect(JSON.stringify(await forged.json())).toMatch(/createdBy: set by the server/);
    // A resident's change is stamped as theirs; the creator stays.
    const r2 = await put(remy, 'm-1', { ...body, points: [[0, 0, 0], [60, 80, 0]], stats: { length: 100, unit: 'mm' } });
    expect(r2.status).toBe(200);
    expect(await r2.json()).toMatchObject({ createdBy: 'rita', updatedBy: 'remy', stats: { length: 100 } });
  });

  it('roles: a technologist reads but cannot write', async () => {
    expect((await toby.fetch(`/api/studies/${STUDY}/measurements`)).status).toBe(200);
    expect((await put(toby, 'm-9', body)).status).toBe(403);
    expect((await toby.fetch(`/api/studies/${STUDY}/measurements/m-1`, { method: 'DELETE' })).status).toBe(403);
  });

  it('a deletion keeps the row and is audited; the same id sent again restores it', async () => {
    expect((await rita.fetch(`/api/studies/${STUDY}/measurements/m-1`, { method: 'DELETE' })).status).toBe(204);
    let list = await rita.json<{ measurements: { id: string }[] }>(`/api/studies/${STUDY}/measurements`);
    expect(list.measurements.map((m) => m.id)).toEqual([]);
    const row = await stack.gateway.store.db.selectFrom('measurements').selectAll().where('id', '=', 'm-1').executeTakeFirstOrThrow();
    expect(row.deleted_by).toBe('rita');
    expect((await rita.fetch(`/api/studies/${STUDY}/measurements/m-1`, { method: 'DELETE' })).status).toBe(404);
    expect((await put(rita, 'm-1', body)).status).toBe(200);
    list = await rita.json<{ measurements: { id: string }[] }>(`/api/studies/${STUDY}/measurements`);
    expect(list.measurements.map((m) => m.id)).toEqual(['m-1']);
    const actions = (await stack.gateway.store.db.selectFrom('audit').select(['action']).where('study_uid', '=', STUDY).execute()).map((a) => a.action);
    for (const a of ['measurement-created', 'measurement-changed', 'measurement-deleted', 'measurement-restored']) expect(actions).toContain(a);
  });

  it('refuses bad ids and bad studies', async () => {
    expect([400, 404]).toContain((await put(rita, 'a%20b', body)).status); // refused by the path guard or by the id rule
    expect((await put(rita, 'x'.repeat(65), body)).status).toBe(400);
    expect((await rita.fetch(`/api/studies/1.2.x/measurements`)).status).toBe(400);
  });

  it('a measurement written or deleted without its audit record is not kept', async () => {
    const db = stack.gateway.store.db;
    const before = await db.selectFrom('measurements').selectAll().where('study_uid', '=', STUDY).execute();
    await whileAuditRefused(db, async () => {
      expect((await put(rita, 'm-audit', body)).status).toBe(500);
      expect((await rita.fetch(`/api/studies/${STUDY}/measurements/m-1`, { method: 'DELETE' })).status).toBe(500);
    });
    expect(await db.selectFrom('measurements').selectAll().where('study_uid', '=', STUDY).execute()).toEqual(before);
  });

  it('after sign-off nothing changes: 409 for write and delete, the list says locked', async () => {
    const s = await rita.post(`/api/studies/${STUDY}/signoff`, { confirmUnverified: true });
    expect(s.status).toBe(201);
    expect((await put(rita, 'm-1', body)).status).toBe(409);
    expect((await put(rita, 'm-new', body)).status).toBe(409);
    expect((await rita.fetch(`/api/studies/${STUDY}/measurements/m-1`, { method: 'DELETE' })).status).toBe(409);
    const list = await rita.json<{ measurements: unknown[]; locked: boolean }>(`/api/studies/${STUDY}/measurements`);
    expect(list.locked).toBe(true);
    expect(list.measurements).toHaveLength(1);
  });
});
