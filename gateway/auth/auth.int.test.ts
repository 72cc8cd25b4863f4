/**
 * Security basics over the whole route table (generated from the router, so a route added later is
 * covered without touching this file): no session → 401; a role outside a route's roles → 403;
 * a state-changing request without the CSRF token → 403. Plus log-in throttling and lock-out,
 * session expiry, secure headers, the DICOMweb proxy's path checks, and the demo-password refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, login, testDatabase, type Stack, type Client } from '../../test/harness.js';
import { buildGateway, type Gateway } from '../app.js';
import { configFromEnv, type GatewayConfig } from '../config.js';
import { ROLES, type Role } from '../../src/core/auth/roles.js';
import { can, rolesFor } from '../../src/core/auth/permissions.js';
import { hashPassword } from './passwords.js';
import { headCtFiles } from '../../scripts/lib/demo-data.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
let stack: Stack;
const clients = {} as Record<Role, Client>;
const USER_OF: Record<Role, string> = { radiologist: 'rita', resident: 'remy', 'er-attending': 'erin', technologist: 'toby', admin: 'ada', 'ai-governance': 'gus' };

/** A concrete URL for a route pattern: params get plausible values, wildcards a DICOMweb path. */
function concrete(url: string): string {
  return url
    .replace(/:study\b/g, STUDY)
    .replace(/:name\b/g, 'adult-head-ct')
    .replace(/:username\b/g, 'toby')
    .replace(/:[A-Za-z_]+/g, '1')
    .replace(/\*$/, 'studies');
}

beforeAll(async () => {
  stack = await startStack({ files: headCtFiles().slice(0, 2) });
  for (const role of ROLES) clients[role] = await login(stack.baseUrl, USER_OF[role]);
});
afterAll(async () => stack?.stop());

describe('route table (generated from the router)', () => {
  const routes = () => stack.gateway.routes.filter((r) => r.method !== 'HEAD' || !stack.gateway.routes.some((g) => g.url === r.url && g.method === 'GET'));

  it('lists the routes of every capability', () => {
    const urls = new Set(stack.gateway.routes.map((r) => r.url));
    for (const u of ['/api/auth/login', '/api/studies/:study/findings', '/api/admin/policy', '/api/audit/export', '/dicom-web/*']) expect(urls.has(u), u).toBe(true);
    expect(stack.gateway.routes.length).toBeGreaterThan(20);
  });

  it('every route that is not declared public answers 401 without a session', async () => {
    const checked: string[] = [];
    for (const r of routes()) {
      if (r.public) continue;
      const res = await fetch(stack.baseUrl + concrete(r.url), { method: r.method, headers: r.method === 'GET' || r.method === 'HEAD' ? {} : { 'content-type': 'application/json' }, body: ['GET', 'HEAD'].includes(r.method) ? undefined : '{}' });
      // A route outside /api and /dicom-web would be served without the session check: it must be public on purpose.
      expect(res.status, `${r.method} ${r.url} without a session`).toBe(401);
      checked.push(`${r.method} ${r.url}`);
    }
    expect(checked.length).toBeGreaterThan(15);
  });

  it('every route refuses each role its permission does not list with 403 (and audits the denial)', async () => {
    const before = Number((await stack.gateway.store.db.selectFrom('audit').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'access-denied').executeTakeFirstOrThrow()).n);
    let denials = 0;
    for (const r of routes()) {
      if (r.public || !r.permission) continue;
      for (const role of ROLES) {
        if (can(role, r.permission)) continue;
        const res = await clients[role].fetch(concrete(r.url), { method: r.method, headers: { 'content-type': 'application/json' }, body: ['GET', 'HEAD'].includes(r.method) ? undefined : '{}' });
        expect(res.status, `${role} ${r.method} ${r.url}`).toBe(403);
        denials++;
      }
    }
    expect(denials).toBeGreaterThan(30);
    const after = Number((await stack.gateway.store.db.selectFrom('audit').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'access-denied').executeTakeFirstOrThrow()).n);
    expect(after - before).toBe(denials);
  });

  it('every state-changing route refuses a request without the CSRF token (403) even for an allowed role', async () => {
    let n = 0;
    for (const r of routes()) {
      if (r.public || ['GET', 'HEAD', 'OPTIONS'].includes(r.method)) continue;
      const role = r.permission ? rolesFor(r.permission)[0] : 'radiologist';
      const res = await fetch(stack.baseUrl + concrete(r.url), { method: r.method, headers: { cookie: clients[role].cookie, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status, `${r.method} ${r.url} without CSRF`).toBe(403);
      const wrong = await fetch(stack.baseUrl + concrete(r.url), { method: r.method, headers: { cookie: clients[role].cookie, 'x-csrf-token': 'forged', 'content-type': 'application/json' }, body: '{}' });
      expect(wrong.status, `${r.method} ${r.url} with a forged CSRF token`).toBe(403);
      n++;
    }
    expect(n).toBeGreaterThan(8);
  });

  it('every route declares a permission or public, and the public ones and those open to every role are listed, so widening one is a visible change', () => {
    for (const r of routes()) expect(r.public || !!r.permission, `${r.method} ${r.url}`).toBe(true);
    const pub = routes().filter((r) => r.public).map((r) => `${r.method} ${r.url}`).sort();
    // /healthz and /readyz (gateway/ops/health.ts) carry no data: liveness, and which dependency is down.
    expect(pub).toEqual(['GET /api/health', 'GET /healthz', 'GET /models/:name/:file', 'GET /ort/:file', 'GET /readyz', 'POST /api/auth/login']);
    const open = routes().filter((r) => !r.public && ROLES.every((role) => can(role, r.permission!))).map((r) => `${r.method} ${r.url}`).sort();
    // The caller's own session, and the model registry (no patient data; its errors only for governance.read).
    // A new route open to all roles fails here until it is reviewed.
    expect(open).toEqual(['GET /api/auth/me', 'GET /api/models', 'POST /api/auth/logout']);
  });
});

describe('secure headers and DICOMweb proxy', () => {
  it('sends security headers on API responses', async () => {
    const r = await clients.radiologist.fetch('/api/auth/me');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });

  it('refuses path traversal, encoded traversal and non-DICOMweb Orthanc paths', async () => {
    const c = clients.radiologist;
    const bad = ['/dicom-web/../system', '/dicom-web/studies/..%2F..%2Fsystem', '/dicom-web/%2e%2e/patients', '/dicom-web/studies/%2E%2E/%2E%2E/tools/reset', '/dicom-web/tools/find', '/dicom-web/patients', '/dicom-web/studies//system', '/dicom-web/studies/1.2\\..\\system', '/dicom-web/plugins', '/dicom-web/studies/abc'];
    for (const p of bad) {
      const r = await c.fetch(p);
      expect([400, 404], p).toContain(r.status);
      expect(await r.text(), p).not.toMatch(/ApiVersion|DicomAet|"Name"/);
    }
    for (const p of ['/dicom-web/instances', `/dicom-web/studies/${STUDY}/series`]) {
      const del = await c.fetch(p, { method: 'DELETE' });
      expect([404, 405], `DELETE ${p}`).toContain(del.status);
      const put = await c.fetch(p, { method: 'PUT', body: 'x' });
      expect([404, 405], `PUT ${p}`).toContain(put.status);
    }
    // STOW-RS is POST /studies[/:study] only: another POST path is no route at all.
    const post = await c.fetch(`/dicom-web/studies/${STUDY}/series`, { method: 'POST', headers: { 'content-type': 'application/dicom' }, body: 'x' });
    expect(post.status).toBe(404);
    expect((await c.fetch(`/dicom-web/studies/${STUDY}/series`)).status).toBe(200);
  });

  it('refuses malformed log-in bodies with 400', async () => {
    for (const body of ['{}', '{"username":"rita"}', '{"username":"","password":"x"}', `{"username":"rita","password":"${'x'.repeat(300)}"}`]) {
      const r = await fetch(stack.baseUrl + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.status, body.slice(0, 40)).toBe(400);
    }
  });
});

describe('log-in throttling, lock-out, session expiry, demo passwords', () => {
  const gateways: Gateway[] = [];
  const tmps: string[] = [];
  async function gateway(over: Partial<GatewayConfig>): Promise<{ gw: Gateway; base: string; db: string }> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-auth-'));
    tmps.push(tmp);
    // The run's dialect (TEST_DB): a fresh SQLite file or PostgreSQL database, unless the test names one.
    const loc = over.database ? { database: over.database, auditKeyFile: over.auditKeyFile } : await testDatabase(tmp);
    const db = loc.database;
    const gw = await buildGateway({ ...configFromEnv({}), port: 0, orthancUrl: stack.orthanc.url, orthancUser: stack.orthanc.user, orthancPassword: stack.orthanc.password, staticDir: undefined, demo: true, ...over, ...loc });
    gateways.push(gw);
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = gw.app.server.address();
    return { gw, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, db };
  }
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => {});
    for (const t of tmps) fs.rmSync(t, { recursive: true, force: true });
  });
  const attempt = (base: string, username: string, password: string) =>
    fetch(base + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

  it('locks a user out after 5 wrong passwords (even the right one is refused), an admin unlocks', async () => {
    const { base } = await gateway({});
    for (let i = 0; i < 5; i++) expect((await attempt(base, 'remy', 'wrong')).status).toBe(401);
    expect((await attempt(base, 'remy', 'remy-demo')).status).toBe(429);
    const ada = await login(base, 'ada');
    const users = await ada.json<{ users: { username: string; locked: boolean }[] }>('/api/admin/users');
    expect(users.users.find((u) => u.username === 'remy')!.locked).toBe(true);
    expect((await ada.post('/api/admin/users/remy/unlock', {})).status).toBe(200);
    expect((await attempt(base, 'remy', 'remy-demo')).status).toBe(200);
  });

  it('5 wrong passwords at the same moment lock the account too (each counted in the database, not read-modify-write)', async () => {
    const { base, gw } = await gateway({});
    const r = await Promise.all(Array.from({ length: 5 }, () => attempt(base, 'remy', 'wrong')));
    expect(r.map((x) => x.status)).toEqual([401, 401, 401, 401, 401]);
    const row = await gw.store.db.selectFrom('users').select(['failed_logins', 'locked_until']).where('username', '=', 'remy').executeTakeFirstOrThrow();
    expect(row.failed_logins).toBe(5);
    expect(row.locked_until).not.toBeNull();
    expect((await attempt(base, 'remy', 'remy-demo')).status).toBe(429);
  });

  it('throttles brute force from one address across user names (429 + Retry-After), and audits it', async () => {
    const { base, gw } = await gateway({});
    let first429 = -1;
    for (let i = 0; i < 25; i++) {
      const r = await attempt(base, `guess${i}`, 'password');
      if (r.status === 429) {
        first429 = i;
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        break;
      }
      expect(r.status).toBe(401);
    }
    expect(first429).toBe(20);
    // From that address, even a correct password is refused for now.
    expect((await attempt(base, 'rita', 'rita-demo')).status).toBe(429);
    const throttled = await gw.store.db.selectFrom('audit').select('detail').where('action', '=', 'login').where('outcome', '=', 4).execute();
    expect(throttled.some((t) => t.detail?.includes('throttled'))).toBe(true);
  });

  it('expires sessions after the configured time', async () => {
    const { base } = await gateway({ sessionTtlMs: 1500 });
    const c = await login(base, 'rita');
    expect((await c.fetch('/api/auth/me')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await c.fetch('/api/auth/me')).status).toBe(401);
  });

  it('logout ends the session on the server (the old cookie stops working)', async () => {
    const c = await login(stack.baseUrl, 'erin');
    expect((await c.fetch('/api/auth/logout', { method: 'POST' })).status).toBe(200);
    expect((await c.fetch('/api/auth/me')).status).toBe(401);
  });

  it('refuses to start with demo passwords outside demo mode; starts once they are changed', async () => {
    // A SQLite file on either pass: the passwords are changed behind the gateway's back, with better-sqlite3.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-auth-'));
    tmps.push(dir);
    const { gw, db } = await gateway({ database: path.join(dir, 'gateway.sqlite') });
    await gw.close();
    await expect(buildGateway({ ...configFromEnv({}), database: db, staticDir: undefined, demo: false })).rejects.toThrow(/refusing to start: users .*rita.* demo passwords/);
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(db);
    for (const u of Object.values(USER_OF)) raw.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(hashPassword(`${u}-a-long-real-secret`), u);
    raw.close();
    const ok = await buildGateway({ ...configFromEnv({}), database: db, staticDir: undefined, demo: false });
    gateways.push(ok);
    expect(ok.config.demo).toBe(false);
  });
});
