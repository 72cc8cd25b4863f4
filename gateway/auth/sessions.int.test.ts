/**
 * Sessions: the database holds only the SHA-256 of the cookie's token (a stolen table or backup opens
 * no session), rows from before (plain tokens) are dropped by the migration, and a session idle for
 * longer than SESSION_IDLE_MS is refused with 401 (sliding: each request moves the deadline).
 * Real gateway on a real SQLite file; no Orthanc needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildGateway, type Gateway } from '../app.js';
import { configFromEnv } from '../config.js';
import { openStore } from '../db/database.js';
import { ALL_MIGRATIONS, migrate } from '../db/migrations.js';
import { createSession, resolveSession, sessionKey } from './sessions.js';
import { login } from '../../test/harness.js';

let tmp = '';
const gateways: Gateway[] = [];

async function gateway(idleMs: number): Promise<{ base: string; db: string }> {
  const db = path.join(tmp, `g${gateways.length}.sqlite`);
  const gw = await buildGateway({ ...configFromEnv({}), port: 0, database: db, staticDir: undefined, demo: true, sessionIdleMs: idleMs });
  gateways.push(gw);
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = gw.app.server.address();
  return { base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, db };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-sessions-'));
});
afterAll(async () => {
  for (const g of gateways) await g.close().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('sessions stored hashed', () => {
  it('the sessions table never holds the cookie value, only its SHA-256; the hash itself opens nothing', async () => {
    const { base, db } = await gateway(30 * 60_000);
    const c = await login(base, 'rita');
    const token = decodeURIComponent(c.cookie.split('=').slice(1).join('='));
    expect(token.length).toBeGreaterThan(30);
    const raw = new Database(db, { readonly: true });
    const rows = raw.prepare('SELECT id, csrf_token FROM sessions').all() as { id: string }[];
    raw.close();
    expect(rows.length).toBe(1);
    expect(rows[0].id).not.toBe(token);
    expect(rows[0].id).toBe(crypto.createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect((await c.fetch('/api/auth/me')).status).toBe(200);
    // Someone who read the table presents the stored value as a cookie: refused.
    expect((await fetch(base + '/api/auth/me', { headers: { cookie: `rs_session=${rows[0].id}` } })).status).toBe(401);
  });

  it('the migration drops sessions stored the old way (plain tokens)', async () => {
    const file = path.join(tmp, 'old.sqlite');
    const store = await openStore(file, {});
    await migrate(store, ALL_MIGRATIONS.filter((m) => m.version < 610));
    await store.db.insertInto('users').values({ username: 'u', display_name: 'U', role: 'radiologist', password_hash: 'x', locked_until: null, created_at: new Date().toISOString() }).execute();
    const plain = crypto.randomBytes(32).toString('base64url');
    const raw = new Database(file);
    raw.prepare('INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at) VALUES (?, 1, ?, ?, ?)').run(plain, 'c', new Date().toISOString(), new Date(Date.now() + 3600_000).toISOString());
    raw.close();
    expect(await migrate(store)).toContain(610);
    expect(await store.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
    expect(await resolveSession(store.db, plain)).toBeNull();
    await store.close();
  });
});

describe('idle timeout', () => {
  it('a session idle longer than its limit is refused; each use slides the deadline (clock-driven)', async () => {
    const store = await openStore(':memory:');
    await migrate(store);
    await store.db.insertInto('users').values({ username: 'u', display_name: 'U', role: 'radiologist', password_hash: 'x', locked_until: null, created_at: new Date().toISOString() }).execute();
    const s = await createSession(store.db, 1, 8 * 3600_000, 10 * 60_000);
    expect(s.id).toBe(sessionKey(s.token));
    const t0 = Date.now();
    const at = (min: number) => new Date(t0 + min * 60_000);
    expect(await resolveSession(store.db, s.token, at(9))).not.toBeNull(); // used at 9 min: deadline now 19
    expect(await resolveSession(store.db, s.token, at(18))).not.toBeNull(); // deadline now 28
    expect(await resolveSession(store.db, s.token, at(27.5))).not.toBeNull();
    expect(await resolveSession(store.db, s.token, at(38))).toBeNull(); // 10.5 min idle
    expect(await store.db.selectFrom('sessions').selectAll().execute()).toEqual([]); // and the row is gone
    await store.close();
  });

  it('over HTTP: requests keep a session alive, SESSION_IDLE_MS without one ends it with 401', async () => {
    expect(configFromEnv({ SESSION_IDLE_MS: '1234' }).sessionIdleMs).toBe(1234);
    expect(configFromEnv({}).sessionIdleMs).toBe(30 * 60_000);
    // A typo stops the start, naming the variable (never "every session is already idle", never a silent default).
    expect(() => configFromEnv({ SESSION_IDLE_MS: '30min' })).toThrow(/SESSION_IDLE_MS="30min": must be a positive whole number of milliseconds/);
    const { base } = await gateway(2000);
    const c = await login(base, 'erin');
    for (let i = 0; i < 4; i++) {
      await sleep(900); // 3.6 s in all, each gap under the 2 s limit
      expect((await c.fetch('/api/auth/me')).status, `request ${i}`).toBe(200);
    }
    await sleep(2600);
    expect((await c.fetch('/api/auth/me')).status).toBe(401);
  });
});
