/**
 * No over-long string reaches the database: every JSON body is checked before its route, whatever the
 * route's own schema says. Real gateway on a real SQLite file (no PACS needed for these routes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGateway, type Gateway } from './app.js';
import { configFromEnv } from './config.js';
import { login, type Client } from '../test/harness.js';
import { MAX_BODY_STRING, overlongString } from './body-limits.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
let tmp = '';
let gw: Gateway;
let base = '';
let rita: Client;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-body-'));
  gw = await buildGateway({ ...configFromEnv({}), port: 0, database: path.join(tmp, 'g.sqlite'), staticDir: undefined, demo: true });
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = gw.app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  rita = await login(base, 'rita');
});
afterAll(async () => {
  await gw?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('body string limits', () => {
  it('finds the first over-long string anywhere in a body, by path', () => {
    expect(overlongString({ a: 'x', b: [{ c: 'y'.repeat(11) }] }, 10)).toBe('$.b[0].c');
    expect(overlongString({ a: 'x', b: [1, 2, { c: 'short' }] }, 10)).toBeNull();
    expect(overlongString({ ['k'.repeat(11)]: 1 }, 10)).toBe('$.<key>');
  });

  it('a stored field carrying an over-long string is refused with 400 naming it, and nothing is recorded', async () => {
    const count = async () => (await gw.store.db.selectFrom('audit').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const ok = await rita.post('/api/audit/client-events', { action: 'overlay-toggled', studyUID: STUDY, findingId: 'f-1', visible: true });
    expect(ok.status).toBe(201);
    const before = await count();
    const r = await rita.post('/api/audit/client-events', { action: 'overlay-toggled', studyUID: STUDY, findingId: 'f'.repeat(MAX_BODY_STRING + 1), visible: true });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toBe(`$.findingId: longer than ${MAX_BODY_STRING} characters`);
    expect(await count()).toBe(before);
  });

  it('the log-in refuses a megabyte user name before looking it up', async () => {
    const r = await fetch(base + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'u'.repeat(1_000_000), password: 'x' }) });
    expect(r.status).toBe(400);
  });
});
