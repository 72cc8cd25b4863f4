/**
 * Test harness: a real Orthanc (random ports, temp storage) and a real gateway on a random
 * loopback port, with demo users. Integration and e2e tests build on this; nothing is mocked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOrthanc, uploadFiles, type OrthancHandle } from '../scripts/lib/orthanc.js';
import { buildGateway, type Gateway, type GatewayOptions } from '../gateway/app.js';
import { configFromEnv, type GatewayConfig } from '../gateway/config.js';
import { REPO_ROOT } from '../scripts/lib/demo-data.js';
import { sharedPostgres } from '../scripts/lib/postgres.js';

/** Which database the stacks use: env TEST_DB=postgres, else SQLite (the embedded default). */
export const TEST_DIALECT: 'sqlite' | 'postgres' = process.env.TEST_DB === 'postgres' ? 'postgres' : process.env.TEST_DB && process.env.TEST_DB !== 'sqlite' ? badTestDb(process.env.TEST_DB) : 'sqlite';

function badTestDb(v: string): never {
  throw new Error(`TEST_DB=${v}: expected sqlite or postgres`);
}

async function pgAdminUrl(): Promise<string> {
  // From the vitest global setup (test/postgres-setup.ts) when there is one, else a cluster of this process.
  let injected: string | undefined;
  try {
    const { inject } = await import('vitest');
    injected = inject('pgAdminUrl');
  } catch {
    /* not under vitest */
  }
  return injected ?? (await sharedPostgres()).url();
}

/**
 * A fresh, empty gateway database for the current dialect, with the audit key file it needs: a SQLite
 * file in `dir`, or a new database in the run's PostgreSQL cluster (the key then lives in `dir`, since a
 * database that is not a file has no "beside it").
 */
export async function testDatabase(dir: string): Promise<Pick<GatewayConfig, 'database' | 'auditKeyFile'>> {
  fs.mkdirSync(dir, { recursive: true });
  if (TEST_DIALECT === 'sqlite') return { database: path.join(dir, 'gateway.sqlite'), auditKeyFile: undefined };
  const admin = await pgAdminUrl();
  const name = `t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return { database: admin.replace(/\/[^/]*$/, `/${name}`), auditKeyFile: path.join(dir, 'gateway.audit-key') };
}

export interface Stack {
  orthanc: OrthancHandle;
  gateway: Gateway;
  baseUrl: string;
  tmp: string;
  stop(): Promise<void>;
}

export async function startStack(opts: { files?: string[]; staticDir?: string; config?: Partial<GatewayConfig>; gateway?: GatewayOptions } = {}): Promise<Stack> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-test-'));
  const orthanc = await startOrthanc({ dataDir: path.join(tmp, 'orthanc'), stableAge: 1 });
  if (opts.files?.length) await uploadFiles(orthanc, opts.files);
  const config: GatewayConfig = {
    ...configFromEnv({}),
    port: 0,
    orthancUrl: orthanc.url,
    orthancUser: orthanc.user,
    orthancPassword: orthanc.password,
    ...(await testDatabase(tmp)),
    staticDir: opts.staticDir,
    modelsDir: path.join(REPO_ROOT, 'models'),
    demo: true,
    ...opts.config,
  };
  const gateway = await buildGateway(config, opts.gateway);
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = gateway.app.server.address();
  const baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    orthanc,
    gateway,
    baseUrl,
    tmp,
    async stop() {
      await gateway.close().catch(() => {});
      await orthanc.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A logged-in API client: keeps the session cookie and sends the CSRF token on writes. */
export interface Client {
  csrf: string;
  cookie: string;
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  json<T = unknown>(pathname: string, init?: RequestInit): Promise<T>;
  post(pathname: string, body: unknown): Promise<Response>;
}

export async function login(baseUrl: string, username: string, password = `${username}-demo`): Promise<Client> {
  const r = await fetch(baseUrl + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!r.ok) throw new Error(`login ${username} failed: ${r.status} ${await r.text()}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
  const { csrfToken } = (await r.json()) as { csrfToken: string };
  const f = (p: string, init: RequestInit = {}) =>
    fetch(baseUrl + p, { ...init, headers: { cookie, 'x-csrf-token': csrfToken, ...(init.headers as Record<string, string>) } });
  return {
    csrf: csrfToken,
    cookie,
    fetch: f,
    async json<T>(p: string, init?: RequestInit) {
      const res = await f(p, init);
      if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    post: (p, body) => f(p, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  };
}

/** Polls `fn` until it returns something truthy, or fails naming what it waited for. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
