/**
 * The audit chain cannot be rewritten by someone with database access: each record carries an
 * HMAC-SHA256 under a key kept outside the database. An attacker who edits a row AND recomputes the
 * whole plain hash chain with SQL still fails `npm run audit:verify` (the real script, as a child
 * process) and the export (each record marked verified: false from the rewritten one on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { openStore } from '../db/database.js';
import { migrate } from '../db/migrations.js';
import { appendAudit } from './audit.js';
import { auditRange } from './export.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';

let tmp = '';

function verify(dbPath: string, env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO_ROOT, 'scripts/audit-verify.ts')], {
    env: { ...process.env, AUDIT_KEY: '', AUDIT_KEY_FILE: '', DATABASE: dbPath, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** A gateway database with a few records, written through the real appendAudit. */
async function makeDb(name: string, records = 8): Promise<string> {
  const dbPath = path.join(tmp, name, 'gateway.sqlite');
  const store = await openStore(dbPath, {});
  await migrate(store);
  for (let i = 0; i < records; i++) {
    await appendAudit(store.db, { actor: i % 2 ? 'rita' : 'ada', role: i % 2 ? 'radiologist' : 'admin', action: i % 3 ? 'finding-accepted' : 'login', studyUID: '1.2.3', findingId: `f-${i}`, detail: { i } });
  }
  await store.close();
  return dbPath;
}

/** What an attacker with the database file can do: drop the triggers, edit, recompute every hash after. */
function rewriteAndRechain(dbPath: string, seq: number, actor: string): void {
  const db = new Database(dbPath);
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
    db.function('sha256', (s: unknown) => crypto.createHash('sha256').update(String(s)).digest('hex'));
    db.prepare('UPDATE audit SET actor = ? WHERE seq = ?').run(actor, seq);
    const rows = db.prepare('SELECT seq FROM audit ORDER BY seq').all() as { seq: number }[];
    let prev = '0'.repeat(64);
    for (const { seq: s } of rows) {
      // The plain chain's canonical form, recomputed in SQL: sha256 of the JSON array of the fields.
      db.prepare('UPDATE audit SET prev_hash = ? WHERE seq = ?').run(prev, s);
      db.prepare(`UPDATE audit SET hash = sha256(json_array(at, actor, role, action, outcome, study_uid, finding_id, detail, prev_hash)) WHERE seq = ?`).run(s);
      prev = (db.prepare('SELECT hash FROM audit WHERE seq = ?').get(s) as { hash: string }).hash;
    }
  } finally {
    db.close();
  }
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-audit-mac-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('keyed audit MAC', () => {
  it('the key lives beside the database in a 0600 file, never in the database; an untouched chain verifies', async () => {
    const dbPath = await makeDb('plain');
    const keyFile = dbPath + '.audit-key';
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const keyHex = fs.readFileSync(keyFile, 'utf8').trim();
    expect(keyHex).toMatch(/^[0-9a-f]{64}$/);
    for (const f of fs.readdirSync(path.dirname(dbPath)).filter((f) => f.startsWith('gateway.sqlite') && !f.endsWith('.audit-key'))) {
      expect(fs.readFileSync(path.join(path.dirname(dbPath), f)).includes(Buffer.from(keyHex)), f).toBe(false);
      expect(fs.readFileSync(path.join(path.dirname(dbPath), f)).includes(Buffer.from(keyHex, 'hex')), f).toBe(false);
    }
    const r = verify(dbPath);
    expect(r.out).toMatch(/audit chain intact: 8 records, every MAC verified/);
    expect(r.code).toBe(0);
  });

  it('a row rewritten with the plain hash chain recomputed in SQL fails audit:verify and the export', async () => {
    const dbPath = await makeDb('rewritten');
    rewriteAndRechain(dbPath, 3, 'mallory');
    // The plain chain is consistent again: only the MAC gives the rewrite away.
    const db = new Database(dbPath, { readonly: true });
    const rows = db.prepare('SELECT seq, prev_hash, hash FROM audit ORDER BY seq').all() as { seq: number; prev_hash: string; hash: string }[];
    db.close();
    for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
    const r = verify(dbPath);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/BROKEN at record seq=3 .*MAC does not match/);

    const store = await openStore(dbPath, { create: false });
    try {
      const recs = await auditRange(store.db, '2000-01-01T00:00:00.000Z', '2100-01-01T00:00:00.000Z');
      expect(recs.map((x) => [x.seq, x.verified])).toEqual([[1, true], [2, true], [3, false], [4, false], [5, false], [6, false], [7, false], [8, false]]);
    } finally {
      await store.close();
    }
  });

  it('deleting the newest records is noticed: the checkpoint outside the database names the last one', async () => {
    const dbPath = await makeDb('truncated', 6);
    const head = dbPath + '.audit-key.head';
    expect(fs.statSync(head).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(head, 'utf8'))).toMatchObject({ seq: 6 });
    expect(verify(dbPath).out).toMatch(/intact: 6 records, every MAC verified, newest record matches the checkpoint/);
    const db = new Database(dbPath);
    db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 4;');
    db.close();
    const r = verify(dbPath);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/BROKEN at record seq=6: .*the newest records were deleted/);
    // A checkpoint rewritten without the key does not pass either.
    fs.writeFileSync(head, JSON.stringify({ seq: 4, hash: 'f'.repeat(64), mac: 'a'.repeat(64) }));
    expect(verify(dbPath).out).toMatch(/checkpoint MAC does not match/);
  });

  it('verification with another key fails; without the key it refuses (exit 2) and creates none', async () => {
    const dbPath = await makeDb('keys', 3);
    const other = crypto.randomBytes(32).toString('hex');
    let r = verify(dbPath, { AUDIT_KEY: other });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/seq=1 .*MAC does not match/);
    // The right key given explicitly, from a file elsewhere.
    const moved = path.join(tmp, 'keys-elsewhere.key');
    fs.renameSync(dbPath + '.audit-key', moved);
    r = verify(dbPath);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/no audit key/);
    expect(fs.existsSync(dbPath + '.audit-key')).toBe(false);
    r = verify(dbPath, { AUDIT_KEY_FILE: moved });
    expect(r.code).toBe(0);
    // A key file others can read is refused.
    fs.chmodSync(moved, 0o644);
    r = verify(dbPath, { AUDIT_KEY_FILE: moved });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/readable by group or others/);
  });

  it('AUDIT_KEY from the environment is used instead of a file', async () => {
    const key = crypto.randomBytes(32).toString('hex');
    const dbPath = path.join(tmp, 'envkey', 'gateway.sqlite');
    const store = await openStore(dbPath, { key });
    await migrate(store);
    await appendAudit(store.db, { actor: 'ada', action: 'login' });
    await store.close();
    expect(fs.existsSync(dbPath + '.audit-key')).toBe(false);
    expect(verify(dbPath, { AUDIT_KEY: key }).code).toBe(0);
    expect(verify(dbPath).code).toBe(2);
  });

  it('records from before the MAC are sealed on the key\'s first start only; MACs stripped later stay a failure', async () => {
    // A database from before this change: records without MACs, and no key yet.
    const dbPath = await makeDb('legacy', 5);
    const strip = () => {
      const db = new Database(dbPath);
      db.exec('DROP TRIGGER IF EXISTS audit_no_update; UPDATE audit SET mac = NULL;');
      db.exec(`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END`);
      db.close();
    };
    strip();
    fs.rmSync(dbPath + '.audit-key');
    let store = await openStore(dbPath, {});
    await migrate(store); // the key is new: the intact legacy chain is sealed with it
    await appendAudit(store.db, { actor: 'ada', action: 'logout' });
    await store.close();
    let r = verify(dbPath);
    expect(r.out).toMatch(/intact: 6 records/);
    expect(r.code).toBe(0);
    // The append-only trigger is back after sealing.
    const db = new Database(dbPath);
    expect(() => db.prepare("UPDATE audit SET actor = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    db.close();

    // Someone strips every MAC to pass the records off as legacy: the key exists, so nothing is re-sealed.
    strip();
    store = await openStore(dbPath, {});
    await migrate(store);
    await store.close();
    r = verify(dbPath);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/seq=1 .*no MAC/);
  });
});
