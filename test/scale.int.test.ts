/**
 * The scale profile (`npm run scale`, scripts/scale.ts) started as the script starts it: PostgreSQL,
 * Orthanc with the PostgreSQL index plugin, two gateways, nginx terminating TLS. Checked from outside,
 * over HTTPS through nginx with its self-signed certificate as the only trusted CA (verification on):
 * a log-in works, both gateways answer, Orthanc's index is in PostgreSQL, and a client's forged
 * X-Forwarded-For never becomes the address the log-in throttle counts, while nginx's does.
 * The client connects from 127.0.0.2 (all of 127/8 is loopback on Linux) so the address nginx reports
 * differs from nginx's own (127.0.0.1), which is all a gateway that ignored X-Forwarded-For would see.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScale, type ScaleHandle } from '../scripts/scale.js';

let scale: ScaleHandle;
beforeAll(async () => {
  const t0 = Date.now();
  scale = await startScale({ log: (m) => console.log(m) });
  console.log(`[scale.int] profile up in ${Date.now() - t0} ms at ${scale.url}`);
}, 240_000);
afterAll(async () => {
  await scale?.stop();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request, from `localAddress`, over HTTPS trusting only the profile's certificate (or plain HTTP to a gateway). */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown; localAddress?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        localAddress: opts.localAddress ?? '127.0.0.2',
        ...(u.protocol === 'https:' ? { ca: scale.certificate, agent: false } : { agent: false }),
        headers: { ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ipHash = (ip: string) => crypto.createHash('sha256').update(`ip\0${ip}`).digest('hex');

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('scale profile: nginx (TLS) -> two gateways, Orthanc on the PostgreSQL index', () => {
  it('logs in over HTTPS through nginx (certificate verified), with a Secure session cookie', async () => {
    const r = await request(`${scale.url}/api/auth/login`, { method: 'POST', body: { username: 'rita', password: 'rita-demo' } });
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body).user.username).toBe('rita');
    const cookie = String(r.headers['set-cookie']?.[0] ?? '');
    expect(cookie).toMatch(/;\s*Secure/i);
    // The session lives in the shared database: whichever gateway nginx picks next knows it.
    const token = cookie.split(';')[0];
    const upstreams = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const me = await request(`${scale.url}/api/auth/me`, { headers: { cookie: token } });
      expect(me.status, me.body).toBe(200);
      upstreams.add(String(me.headers['x-upstream']));
    }
    expect(upstreams.size).toBe(2);
  });

  it('both gateways answer through nginx, each ready (database and Orthanc)', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const r = await request(`${scale.url}/readyz`);
      expect(r.status, r.body).toBe(200);
      const up = String(r.headers['x-upstream']);
      seen.set(up, (seen.get(up) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(scale.gateways.map((g) => `127.0.0.1:${g.port}`).sort());
    for (const g of scale.gateways) expect((await request(`${g.url}/readyz`)).status).toBe(200);
  });

  it('Orthanc keeps its index in PostgreSQL (the plugin is loaded and its tables hold the data)', async () => {
    const plugins = (await (await scale.orthanc.rest('/plugins')).json()) as string[];
    expect(plugins).toContain('postgresql-index');
    const system = (await (await scale.orthanc.rest('/system')).json()) as { DatabaseBackendPlugin?: string | null };
    expect(String(system.DatabaseBackendPlugin)).toMatch(/PostgreSQLIndex/);
    const tables = await query<{ table_name: string }>(scale.pg!.url('orthanc_index'), "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables.map((t) => t.table_name)).toContain('resources');
  });

  it('a forged X-Forwarded-For is not the address the throttle counts; the one nginx sets is', async () => {
    await query(scale.databaseUrl, "DELETE FROM login_failures WHERE scope = 'ip'");
    // Through nginx from 127.0.0.2, claiming to be 203.0.113.9.
    const r = await request(`${scale.url}/api/auth/login`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.9' }, body: { username: 'rita', password: 'wrong-password' } });
    expect(r.status, r.body).toBe(401);
    // Straight to a gateway (not through nginx) from 127.0.0.3, claiming 198.51.100.7: not a trusted proxy, so its header counts for nothing.
    const d = await request(`${scale.gateways[0].url}/api/auth/login`, { method: 'POST', localAddress: '127.0.0.3', headers: { 'x-forwarded-for': '198.51.100.7' }, body: { username: 'rita', password: 'wrong-password' } });
    expect(d.status, d.body).toBe(401);
    const rows = await query<{ key_hash: string }>(scale.databaseUrl, "SELECT key_hash FROM login_failures WHERE scope = 'ip'");
    const keys = rows.map((x) => x.key_hash);
    expect(keys).toContain(ipHash('127.0.0.2')); // the client's address, as nginx reported it
    expect(keys).toContain(ipHash('127.0.0.3')); // the direct connection's own address
    for (const forged of ['203.0.113.9', '198.51.100.7', '127.0.0.1']) expect(keys).not.toContain(ipHash(forged));
    expect(keys).toHaveLength(2);
    await query(scale.databaseUrl, 'UPDATE users SET failed_logins = 0, locked_until = NULL');
  });
});
