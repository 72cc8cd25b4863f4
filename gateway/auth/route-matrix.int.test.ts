/**
 * Route × role × path-variant matrix, generated from the router (`gw.routes`) and the one permission
 * table (src/core/auth/permissions.ts), so a route or a table change is covered without touching this file:
 *
 * - every route, every role and anonymous: anonymous → 401 (unless the route is public); a role the
 *   table does not list for the route's action → 403 (audited); a listed role → neither 401 nor the
 *   hook's 403;
 * - every route, spelled ambiguously (percent-encoded letters, %2f, //, dot segments, backslash,
 *   letter case, trailing slash), by every principal → refused (400/404), never the data;
 * - over real HTTP, the bypass of issue 13 (`/%61pi/admin/users`) and friends are closed;
 * - a route that declares no permission makes buildGateway throw (the gateway refuses to start).
 * One gateway and one Orthanc; Fastify's inject for the bulk of the matrix, raw HTTP where the
 * request must reach the server byte for byte (inject and fetch normalise dot segments).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { buildGateway } from '../app.js';
import { configFromEnv } from '../config.js';
import { ROLES, type Role } from '../../src/core/auth/roles.js';
import { can, PERMISSION_NAMES } from '../../src/core/auth/permissions.js';
import { headCtFiles } from '../../scripts/lib/demo-data.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const USER_OF: Record<Role, string> = { radiologist: 'rita', resident: 'remy', 'er-attending': 'erin', technologist: 'toby', admin: 'ada', 'ai-governance': 'gus' };
let stack: Stack;
const clients = {} as Record<Role, Client>;
type Principal = Role | 'anonymous';
const PRINCIPALS: Principal[] = ['anonymous', ...ROLES];

/** A concrete URL for a route pattern: params get plausible values, the DICOMweb wildcard a QIDO path. */
function concrete(url: string): string {
  return url
    .replace(/:study(UID)?\b/g, STUDY)
    .replace(/:name\b/g, 'adult-head-ct')
    .replace(/:username\b/g, 'toby')
    .replace(/:file\b/g, 'manifest.json')
    .replace(/:[A-Za-z_]+/g, '1')
    .replace(/\*$/, 'studies');
}

function headersOf(p: Principal, method: string): Record<string, string> {
  const h: Record<string, string> = method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'application/json' };
  if (p !== 'anonymous') Object.assign(h, { cookie: clients[p].cookie, 'x-csrf-token': clients[p].csrf });
  return h;
}

/** A request sent exactly as written (no URL normalisation), over a real socket. */
function raw(method: string, pathname: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  const { port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), method, path: pathname, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function deniedCount(): Promise<number> {
  const r = await stack.gateway.store.db.selectFrom('audit').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'access-denied').executeTakeFirstOrThrow();
  return Number(r.n);
}

beforeAll(async () => {
  stack = await startStack({ files: headCtFiles().slice(0, 2) });
  for (const role of ROLES) clients[role] = await login(stack.baseUrl, USER_OF[role]);
});
afterAll(async () => stack?.stop());

describe('route × role matrix from the permission table', () => {
  // Log-out ends the caller's session and the event stream never ends: both are checked apart below.
  const SPECIAL = new Set(['POST /api/auth/logout', 'GET /api/events', 'HEAD /api/events']);
  const matrixRoutes = () => stack.gateway.routes.filter((r) => !SPECIAL.has(`${r.method} ${r.url}`));

  it('every route declares a permission from the table or public', () => {
    expect(stack.gateway.routes.length).toBeGreaterThan(30);
    for (const r of stack.gateway.routes) {
      expect(r.public || (r.permission !== undefined && PERMISSION_NAMES.includes(r.permission)), `${r.method} ${r.url}`).toBe(true);
    }
  });

  it('each cell: anonymous 401, a role outside the table 403 (audited), a listed role neither', async () => {
    const before = await deniedCount();
    let denials = 0;
    let allowed = 0;
    const failures: string[] = [];
    for (const r of matrixRoutes()) {
      const url = concrete(r.url);
      for (const p of PRINCIPALS) {
        const res = await stack.gateway.app.inject({ method: r.method as 'GET', url, headers: headersOf(p, r.method), payload: ['GET', 'HEAD'].includes(r.method) ? undefined : '{}' });
        const cell = `${p} ${r.method} ${r.url} → ${res.statusCode}`;
        if (r.public) {
          if (res.statusCode === 401 || res.statusCode === 403) failures.push(`${cell} (public route)`);
        } else if (p === 'anonymous') {
          if (res.statusCode !== 401) failures.push(`${cell} (expected 401)`);
        } else if (!can(p, r.permission!)) {
          denials++;
          if (res.statusCode !== 403 || (r.method !== 'HEAD' && !res.body.includes(`may not ${r.permission}`))) failures.push(`${cell} (expected 403 from the table)`);
        } else {
          allowed++;
          // The handler may refuse the dummy request (400/404/409, or a policy 403 of its own), but the access check passed.
          if (res.statusCode === 401 || (res.statusCode === 403 && /may not (?:[a-z-]+\.[a-z.-]+) \(|CSRF/.test(res.body))) failures.push(`${cell} (allowed by the table)`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(denials).toBeGreaterThan(60);
    expect(allowed).toBeGreaterThan(60);
    expect((await deniedCount()) - before).toBe(denials);
  });

  it('log-out and the event stream follow the table too', async () => {
    for (const p of PRINCIPALS) {
      const c = p === 'anonymous' ? null : await login(stack.baseUrl, USER_OF[p]);
      const h: Record<string, string> = c ? { cookie: c.cookie, 'x-csrf-token': c.csrf } : {};
      const out = await fetch(stack.baseUrl + '/api/auth/logout', { method: 'POST', headers: h });
      expect(out.status, `${p} logout`).toBe(c ? 200 : 401);
      const c2 = p === 'anonymous' ? null : await login(stack.baseUrl, USER_OF[p]);
      const ctl = new AbortController();
      const ev = await fetch(stack.baseUrl + '/api/events', { headers: c2 ? { cookie: c2.cookie } : {}, signal: ctl.signal });
      const expected = p === 'anonymous' ? 401 : can(p, 'worklist.read') ? 200 : 403;
      expect(ev.status, `${p} /api/events`).toBe(expected);
      ctl.abort();
      await ev.body?.cancel().catch(() => {});
    }
  });

  it('a state-changing route without the CSRF token is refused (403) even for a listed role', async () => {
    let n = 0;
    for (const r of matrixRoutes()) {
      if (r.public || ['GET', 'HEAD', 'OPTIONS'].includes(r.method)) continue;
      const role = ROLES.find((x) => can(x, r.permission!))!;
      const res = await stack.gateway.app.inject({ method: r.method as 'POST', url: concrete(r.url), headers: { cookie: clients[role].cookie, 'content-type': 'application/json' }, payload: '{}' });
      expect(res.statusCode, `${role} ${r.method} ${r.url} without CSRF`).toBe(403);
      expect(res.body).toMatch(/CSRF/);
      n++;
    }
    expect(n).toBeGreaterThan(15);
  });
});

describe('path variants: one spelling per route', () => {
  /** Ambiguous spellings of a concrete path. Each must be refused; none may reach a handler. */
  function variants(p: string): string[] {
    const segs = p.split('/'); // ['', 'api', 'admin', 'users']
    const first = segs[1];
    const enc = (ch: string) => '%' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    const out = [
      `/${enc(first[0])}${first.slice(1)}/${segs.slice(2).join('/')}`, // /%61pi/...
      `/${first.slice(0, 2)}${enc(first[2]).toUpperCase()}${first.slice(3)}/${segs.slice(2).join('/')}`, // /ap%69/...
      `/${first}%2f${segs.slice(2).join('/')}`, // /api%2fadmin/users
      `/${first}%2F${segs.slice(2).join('/')}`,
      `/${first}//${segs.slice(2).join('/')}`, // /api//admin/users
      `//${first}/${segs.slice(2).join('/')}`,
      `/${first}/./${segs.slice(2).join('/')}`, // /api/./admin/users
      `/${first}/x/../${segs.slice(2).join('/')}`, // /api/x/../admin/users
      `/${first}/%2e/${segs.slice(2).join('/')}`,
      `/${first}/x/%2E%2E/${segs.slice(2).join('/')}`,
      `/${first}\\${segs.slice(2).join('/')}`, // /api\admin/users
      `/${first}%5c${segs.slice(2).join('/')}`,
      p.toUpperCase(), // /API/ADMIN/USERS
      `/${first[0].toUpperCase()}${first.slice(1)}/${segs.slice(2).join('/')}`, // /Api/admin/users
      `${p}/`, // trailing slash
    ];
    if (segs.length > 2) {
      const last = segs[segs.length - 1];
      const i = [...last].findIndex((ch) => /[a-z]/.test(ch));
      if (i >= 0) out.push([...segs.slice(0, -1), last.slice(0, i) + enc(last[i]) + last.slice(i + 1)].join('/')); // /api/admin/u%73ers
    }
    return out;
  }

  it('every ambiguous spelling of every route is refused (400/404) for every principal, over raw HTTP, with no data', async () => {
    const seen = new Set<string>();
    const failures: string[] = [];
    let n = 0;
    for (const r of stack.gateway.routes) {
      if (r.public || r.method === 'HEAD') continue;
      const base = concrete(r.url);
      if (seen.has(`${r.method} ${base}`)) continue;
      seen.add(`${r.method} ${base}`);
      for (const v of variants(base)) {
        for (const p of PRINCIPALS) {
          const res = await raw(r.method, v, headersOf(p, r.method), ['GET', 'HEAD'].includes(r.method) ? undefined : '{}');
          n++;
          if (![400, 404].includes(res.status)) failures.push(`${p} ${r.method} ${v} → ${res.status}`);
          // A refusal is one short JSON error: no user list, no findings, no audit, no DICOM.
          else if (!/^\{"error":"[^"]*"\}$/.test(res.text)) failures.push(`${p} ${r.method} ${v} → body ${res.text.slice(0, 80)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(2000);
  });

  it('the bypass of issue 13 is closed over real HTTP: /%61pi/admin/users and friends', async () => {
    const ada = clients.admin;
    for (const p of ['/%61pi/admin/users', '/ap%69/admin/users', '/api/admin/%75sers', '/%61pi/orders', '/ap%69/admin/hl7/rejected', '/%61pi/alerts', `/%61pi/studies/${STUDY}/opening`, '/%64icom-web/studies']) {
      for (const headers of [{}, { cookie: ada.cookie }] as Record<string, string>[]) {
        const res = await raw('GET', p, headers);
        expect(res.status, p).toBe(400);
        expect(res.text, p).not.toMatch(/username|"users"|displayName|0020000D/);
      }
    }
    // The state-changing ones of the report: no CSRF token, a technologist's session, an encoded path.
    const toby = clients.technologist;
    for (const [m, p, body] of [
      ['POST', '/%61pi/preread/workers', '{"running":false}'],
      ['POST', `/%61pi/studies/${STUDY}/signoff`, '{}'],
      ['PUT', '/%61pi/admin/users/toby/role', '{"role":"admin"}'],
      ['PUT', '/%61pi/admin/policy', '{}'],
    ] as const) {
      const res = await raw(m, p, { cookie: toby.cookie, 'content-type': 'application/json' }, body);
      expect(res.status, `${m} ${p}`).toBe(400);
    }
    const me = await clients.technologist.json<{ user: { role: string } }>('/api/auth/me');
    expect(me.user.role).toBe('technologist');
    // The plain spelling still works for the role the table allows, and only for it.
    expect((await raw('GET', '/api/admin/users', { cookie: ada.cookie })).status).toBe(200);
    expect((await raw('GET', '/api/admin/users', {})).status).toBe(401);
    expect((await raw('GET', '/api/admin/users', { cookie: toby.cookie })).status).toBe(403);
  });

  it('an unknown path leaks nothing: no echo, no data, in any letter case', async () => {
    for (const p of ['/api/nope', '/API/admin/users', '/Dicom-Web/studies', '/api/admin/users/', '/api/nope?PatientName=DOE^JOHN']) {
      const res = await raw('GET', p, { cookie: clients.admin.cookie });
      expect([400, 404], p).toContain(res.status);
      expect(res.text, p).not.toMatch(/DOE|nope|users|studies/i);
    }
  });
});

describe('deny by default at start-up', () => {
  const tmps: string[] = [];
  afterAll(() => {
    for (const t of tmps) fs.rmSync(t, { recursive: true, force: true });
  });
  const build = (capability: Parameters<typeof buildGateway>[1] extends infer O ? O extends { capabilities?: (infer C)[] } ? C : never : never) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-matrix-'));
    tmps.push(tmp);
    return buildGateway({ ...configFromEnv({}), orthancUrl: stack.orthanc.url, staticDir: undefined, demo: true, database: path.join(tmp, 'g.sqlite') }, { capabilities: [capability] });
  };

  it('a route without a permission makes buildGateway throw', async () => {
    await expect(build((app) => void app.get('/api/undeclared', async () => ({ secret: 1 })))).rejects.toThrow(/GET \/api\/undeclared declares neither config.permission nor config.public/);
  });

  it('so does an unknown permission, the old roles list, or public together with a permission', async () => {
    await expect(build((app) => void app.get('/api/x', { config: { permission: 'everything' as never } }, async () => ({})))).rejects.toThrow(/unknown permission "everything"/);
    await expect(build((app) => void app.get('/api/x', { config: { roles: ['admin'] } as never }, async () => ({})))).rejects.toThrow(/config.roles is gone/);
    await expect(build((app) => void app.get('/api/x', { config: { public: true, permission: 'users.admin' } }, async () => ({})))).rejects.toThrow(/both public and permission/);
  });

  it('a route outside /api declared with a permission is protected like any other (no prefix test)', async () => {
    const gw = await build((app) => void app.get('/elsewhere/data', { config: { permission: 'users.admin' } }, async () => ({ secret: 42 })));
    try {
      expect((await gw.app.inject({ url: '/elsewhere/data' })).statusCode).toBe(401);
      expect((await gw.app.inject({ url: '/%65lsewhere/data' })).statusCode).toBe(400);
    } finally {
      await gw.close();
    }
  });
});
