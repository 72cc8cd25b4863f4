/**
 * Every act and its audit record commit in one transaction (withAudit): with the audit table refusing
 * new records (what a full disk or a dropped connection does mid-transaction), each act below answers
 * 500 and nothing of it is kept; once the audit is back the same request goes through, recorded once.
 * Real gateway and Orthanc, through the HTTP API; runs on SQLite and on PostgreSQL.
 * (Verdicts, sign-off, addendum, settings: findings.int; radiologist finding: radiologist.int;
 * measurements: measurements.int; alert acknowledgement: preread.int; governance rules: governance.int.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { seedDemoFindings } from '../../scripts/seed-demo-findings.js';
import { verifyChain, type AuditRecord } from './audit.js';
import { draftFromFindings } from '../../src/core/report/draft.js';
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
}, 120_000);
afterAll(async () => stack?.stop());

const db = () => stack.gateway.store.db;
const audit = () => db().selectFrom('audit').selectAll().orderBy('seq').execute() as Promise<AuditRecord[]>;
const count = async (action: string, study?: string) => (await audit()).filter((a) => a.action === action && (!study || a.study_uid === study)).length;
const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('an act whose audit record cannot be written is not kept', () => {
  it('findings import (the one ingestion path): no finding stored without its records', async () => {
    const [template] = (await rita.json<{ findings: Finding[] }>(`/api/studies/${CR}/findings`)).findings;
    const { status, verdict, source, createdAt, ingestedBy, ...importable } = template;
    void status, void verdict, void source, void createdAt, void ingestedBy;
    const batch = [{ ...importable, id: 'atomic-import-1' }];
    const before = await count('finding-imported');
    await whileAuditRefused(db(), async () => {
      expect((await ada.post('/api/findings', batch)).status).toBe(500);
    });
    expect(await db().selectFrom('findings').select('id').where('id', '=', 'atomic-import-1').execute()).toEqual([]);
    expect(await count('finding-imported')).toBe(before);
    // The same batch once the audit is back: stored, recorded once.
    expect((await ada.post('/api/findings', batch)).status).toBeLessThan(300);
    expect(await db().selectFrom('findings').select('id').where('id', '=', 'atomic-import-1').execute()).toHaveLength(1);
    expect(await count('finding-imported')).toBe(before + 1);
  });

  it('findings shown and study opened: neither the first showing nor the reader’s open is kept without its audit record', async () => {
    const shown = () => db().selectFrom('findings_shown').select('finding_id').where('finding_id', 'like', 'fixture-ct-%').execute();
    const opens = (study: string) => db().selectFrom('study_opens').select('username').where('study_uid', '=', study).execute();
    // A study with no findings: opening it records only the open.
    const EMPTY = '1.2.826.0.1.3680043.9.4245.999';
    await whileAuditRefused(db(), async () => {
      expect((await rita.fetch(`/api/studies/${CT}/findings`)).status).toBe(500);
      expect((await rita.fetch(`/api/studies/${EMPTY}/findings`)).status).toBe(500);
    });
    expect(await shown()).toEqual([]);
    expect(await opens(CT)).toEqual([]);
    expect(await opens(EMPTY)).toEqual([]);
    expect(await count('finding-shown', CT)).toBe(0);
    expect(await count('study-opened', CT)).toBe(0);
    expect((await rita.fetch(`/api/studies/${CT}/findings`)).status).toBe(200);
    expect((await rita.fetch(`/api/studies/${EMPTY}/findings`)).status).toBe(200);
    expect((await shown()).length).toBeGreaterThan(0);
    expect(await opens(CT)).toEqual([{ username: 'rita' }]);
    expect(await opens(EMPTY)).toEqual([{ username: 'rita' }]);
    expect(await count('finding-shown', CT)).toBe(1);
    expect(await count('study-opened', CT)).toBe(1);
    expect(await count('study-opened', EMPTY)).toBe(1);
  });

  it('report draft saved', async () => {
    const findings = (await rita.json<{ findings: Finding[] }>(`/api/studies/${CT}/findings`)).findings;
    const draft = { ...draftFromFindings(findings, 'generic'), comments: 'atomic draft' };
    await whileAuditRefused(db(), async () => {
      expect((await rita.fetch(`/api/studies/${CT}/report`, json('PUT', { draft }))).status).toBe(500);
    });
    expect(await db().selectFrom('report_drafts').selectAll().where('study_uid', '=', CT).execute()).toEqual([]);
    expect((await rita.fetch(`/api/studies/${CT}/report`, json('PUT', { draft }))).status).toBe(200);
    expect((await db().selectFrom('report_drafts').select('updated_by').where('study_uid', '=', CT).execute()).map((r) => r.updated_by)).toEqual(['rita']);
    expect(await count('report-draft-saved')).toBe(1);
  });

  it('a user’s role changed or unlocked by an admin: neither the change nor the ended sessions are kept', async () => {
    const remy = await login(stack.baseUrl, 'remy');
    const role = async () => (await db().selectFrom('users').select('role').where('username', '=', 'remy').executeTakeFirstOrThrow()).role;
    await db().updateTable('users').set({ failed_logins: 3 }).where('username', '=', 'remy').execute();
    const before = await count('settings-changed');
    await whileAuditRefused(db(), async () => {
      expect((await ada.fetch('/api/admin/users/remy/role', json('PUT', { role: 'radiologist' }))).status).toBe(500);
      expect((await ada.post('/api/admin/users/remy/unlock', {})).status).toBe(500);
    });
    expect(await role()).toBe('resident');
    expect((await db().selectFrom('users').select('failed_logins').where('username', '=', 'remy').executeTakeFirstOrThrow()).failed_logins).toBe(3);
    // The role change rolled back whole: remy's session was not ended either.
    expect((await remy.fetch('/api/auth/me')).status).toBe(200);
    expect(await count('settings-changed')).toBe(before);
    expect((await ada.post('/api/admin/users/remy/unlock', {})).status).toBe(200);
    expect((await db().selectFrom('users').select('failed_logins').where('username', '=', 'remy').executeTakeFirstOrThrow()).failed_logins).toBe(0);
    expect(await count('settings-changed')).toBe(before + 1);
    // Replays change nothing and record nothing: an unlock with nothing locked, the role it already has
    // (remy's session is not ended either).
    expect((await ada.post('/api/admin/users/remy/unlock', {})).status).toBe(200);
    expect((await ada.fetch('/api/admin/users/remy/role', json('PUT', { role: 'resident' }))).status).toBe(200);
    expect((await remy.fetch('/api/auth/me')).status).toBe(200);
    expect(await count('settings-changed')).toBe(before + 1);
    // A real change: recorded once with before and after, remy's sessions ended.
    expect((await ada.fetch('/api/admin/users/remy/role', json('PUT', { role: 'radiologist' }))).status).toBe(200);
    expect((await ada.fetch('/api/admin/users/remy/role', json('PUT', { role: 'radiologist' }))).status).toBe(200);
    expect((await remy.fetch('/api/auth/me')).status).toBe(401);
    const changes = (await audit()).filter((a) => a.action === 'settings-changed').map((a) => JSON.parse(a.detail!)).filter((d) => d.setting === 'user-role');
    expect(changes).toEqual([{ setting: 'user-role', user: 'remy', before: 'resident', after: 'radiologist' }]);
    expect((await ada.fetch('/api/admin/users/remy/role', json('PUT', { role: 'resident' }))).status).toBe(200);
  });

  it('outbox retry by an admin', async () => {
    const now = new Date().toISOString();
    const insert = async (key: string, status: 'dead' | 'failed') =>
      Number(
        (
          await db()
            .insertInto('outbox')
            .values({ kind: 'webhook', study_uid: CT, dedupe_key: key, message_id: key, payload: JSON.stringify({ type: 'webhook', url: 'http://127.0.0.1:9/x', body: {} }), status, attempts: 5, next_attempt_at: now, last_error: 'down', created_at: now, updated_at: now, sent_at: null, acknowledged_at: null })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      );
    const id = await insert('atomic-retry-1', 'dead');
    const status = async () => (await db().selectFrom('outbox').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    await whileAuditRefused(db(), async () => {
      expect((await ada.post(`/api/admin/outbox/${id}/retry`, {})).status).toBe(500);
    });
    expect(await status()).toBe('dead');
    expect(await count('outbox-retry')).toBe(0);
    expect((await ada.post(`/api/admin/outbox/${id}/retry`, {})).status).toBe(200);
    expect(await count('outbox-retry')).toBe(1);
    // A retry of a message already waiting for its attempt (a replay): 200, nothing changed or recorded.
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const waiting = await insert('atomic-retry-2', 'failed');
    await db().updateTable('outbox').set({ status: 'pending', next_attempt_at: later }).where('id', '=', waiting).execute();
    expect((await ada.post(`/api/admin/outbox/${waiting}/retry`, {})).status).toBe(200);
    expect((await db().selectFrom('outbox').select(['status', 'next_attempt_at']).where('id', '=', waiting).executeTakeFirstOrThrow())).toEqual({ status: 'pending', next_attempt_at: later });
    expect(await count('outbox-retry')).toBe(1);
    expect(verifyChain(await audit()).ok).toBe(true);
  });
});
