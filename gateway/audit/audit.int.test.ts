/**
 * Tamper evidence: the database refuses UPDATE/DELETE on the audit table; with the triggers dropped
 * (as an attacker with file access would), any edit or deletion makes `npm run audit:verify` fail
 * naming the first broken record. Runs the real script as a child process on a real gateway database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { buildGateway, type Gateway } from '../app.js';
import { configFromEnv } from '../config.js';
import { login } from '../../test/harness.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';

let tmp = '';
let dbPath = '';
let gw: Gateway | null = null;

function verify(): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO_ROOT, 'scripts/audit-verify.ts')], {
    env: { ...process.env, DATABASE: dbPath },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-audit-'));
  dbPath = path.join(tmp, 'gateway.sqlite');
  // The gateway's own routes write the records; no PACS traffic is involved in these tests.
  gw = await buildGateway({ ...configFromEnv({}), port: 0, database: dbPath, staticDir: undefined, demo: true });
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = gw.app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  for (const u of ['rita', 'remy', 'ada']) {
    const c = await login(base, u);
    await c.fetch('/api/admin/policy'); // access-denied for two of them
    await c.fetch('/api/auth/logout', { method: 'POST' });
  }
  await gw.close();
  gw = null;
});
afterAll(async () => {
  await gw?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('audit tamper evidence', () => {
  it('an untouched chain verifies', () => {
    const r = verify();
    expect(r.out).toMatch(/audit chain intact: \d+ records/);
    expect(r.code).toBe(0);
  });

  it('the database itself refuses UPDATE and DELETE on the audit table', () => {
    const db = new Database(dbPath);
    try {
      expect(() => db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 3").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit WHERE seq = 3').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  it('an edited row (triggers dropped) fails verification naming that row; a deleted row names its successor', () => {
    const db = new Database(dbPath);
    try {
      const original = db.prepare('SELECT actor FROM audit WHERE seq = 4').get() as { actor: string };
      db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
      db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 4").run();
      let r = verify();
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/BROKEN at record seq=4 .*record content does not match its hash/);
      db.prepare('UPDATE audit SET actor = ? WHERE seq = 4').run(original.actor);
      expect(verify().code).toBe(0);
      db.prepare('DELETE FROM audit WHERE seq = 6').run();
      r = verify();
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/BROKEN at record seq=7 .*prev_hash does not match/);
    } finally {
      db.close();
    }
  });

  it('exits 2 for a missing database instead of creating one', () => {
    const saved = dbPath;
    dbPath = path.join(tmp, 'nope.sqlite');
    const r = verify();
    dbPath = saved;
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(tmp, 'nope.sqlite'))).toBe(false);
  });
});
