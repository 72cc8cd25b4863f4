/**
 * The dialect helpers against the database of this run (TEST_DB=postgres: a real PostgreSQL cluster;
 * else SQLite): the stack really runs on the dialect asked for, claims never hand a row out twice, the
 * advisory lock serialises, leadership is held by one process at a time and moves when the leader dies.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { TEST_DIALECT, testDatabase } from '../../test/harness.js';
import { openStore, type Store } from './database.js';
import { migrate } from './migrations.js';
import { claimRows, dialectOf, tryLeadership, withAdvisoryLock } from './dialect.js';
import { appendAudit } from '../audit/audit.js';

let tmp: string;
let a: Store;
let b: Store;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-dialect-'));
  const loc = await testDatabase(tmp);
  a = await openStore(loc.database, { keyFile: loc.auditKeyFile });
  if (TEST_DIALECT === 'postgres') {
    // A second handle on the same database: a second gateway (its own pool), migrating at the same time.
    b = await openStore(loc.database, { keyFile: loc.auditKeyFile });
    const applied = await Promise.all([migrate(a), migrate(b)]);
    // Each migration ran once, in one of the two.
    expect(applied[0].length + applied[1].length).toBe((await a.db.selectFrom('schema_migrations').select('version').execute()).length);
  } else {
    // SQLite is the one-process store: one handle (two synchronous handles in one thread would wait on each other).
    await migrate(a);
    b = a;
  }
});
afterAll(async () => {
  await a?.close();
  if (b !== a) await b?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function seedJobs(n: number) {
  const now = new Date().toISOString();
  for (let i = 0; i < n; i += 50) {
    await a.db
      .insertInto('preread_jobs')
      .values(
        Array.from({ length: Math.min(50, n - i) }, (_, j) => ({
          id: `job-${String(i + j).padStart(4, '0')}`,
          study_uid: `1.2.${i + j}`,
          model: 'm',
          model_version: '1',
          fingerprint: 'f',
          payload: '{}',
          state: 'pending',
          attempts: 0,
          next_at: now,
          created_at: now,
        })),
      )
      .execute();
  }
}

describe(`dialect helpers on ${TEST_DIALECT}`, () => {
  it('the store runs on the dialect this run asked for', async () => {
    expect(a.dialect).toBe(TEST_DIALECT);
    expect(dialectOf(a.db)).toBe(TEST_DIALECT);
    const v = TEST_DIALECT === 'postgres' ? await sql<{ v: string }>`SELECT version() AS v`.execute(a.db) : await sql<{ v: string }>`SELECT sqlite_version() AS v`.execute(a.db);
    expect(v.rows[0].v).toMatch(TEST_DIALECT === 'postgres' ? /^PostgreSQL/ : /^3\./);
  });

  it('the audit table is append-only in the database itself: UPDATE and DELETE are refused', async () => {
    await appendAudit(a.db, { actor: 'test', action: 'dialect-check' });
    await expect(a.db.updateTable('audit').set({ actor: 'mallory' }).where('action', '=', 'dialect-check').execute()).rejects.toThrow(/append-only/);
    await expect(a.db.deleteFrom('audit').where('action', '=', 'dialect-check').execute()).rejects.toThrow(/append-only/);
    const rows = await a.db.selectFrom('audit').select('actor').where('action', '=', 'dialect-check').execute();
    expect(rows).toEqual([{ actor: 'test' }]);
  });

  it('claimRows: two claimers racing over 300 rows get each row exactly once', async () => {
    await seedJobs(300);
    const claimer = async (store: Store, who: string) => {
      const got: string[] = [];
      for (;;) {
        const rows = await claimRows<{ id: string; state: string; provider: string }>(store.db, {
          table: 'preread_jobs',
          key: 'id',
          where: sql`state = 'pending'`,
          set: { state: 'running', provider: who },
          limit: 7,
        });
        if (!rows.length) return got;
        for (const r of rows) {
          expect(r.state).toBe('running');
          expect(r.provider).toBe(who);
        }
        got.push(...rows.map((r) => r.id));
      }
    };
    const [x, y, z] = await Promise.all([claimer(a, 'a'), claimer(b, 'b'), claimer(a, 'a2')]);
    const all = [...x, ...y, ...z];
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
    const left = await a.db.selectFrom('preread_jobs').select('id').where('state', '=', 'pending').execute();
    expect(left).toHaveLength(0);
  });

  it('claimRows refuses a claim that marks nothing, or a bad limit', async () => {
    await expect(claimRows(a.db, { table: 'preread_jobs', key: 'id', where: sql`1=1`, set: {}, limit: 1 })).rejects.toThrow(/set. is empty/);
    await expect(claimRows(a.db, { table: 'preread_jobs', key: 'id', where: sql`1=1`, set: { state: 'x' }, limit: 0 })).rejects.toThrow(/limit must be a positive integer/);
  });

  it('withAdvisoryLock: read-modify-write from two handles at once loses no update', async () => {
    await a.db.insertInto('trust_settings').values({ key: 'counter', value: '0' }).execute();
    const bump = (s: Store) =>
      withAdvisoryLock(s.db, 'counter', async (trx) => {
        const r = await trx.selectFrom('trust_settings').select('value').where('key', '=', 'counter').executeTakeFirstOrThrow();
        await new Promise((res) => setTimeout(res, 1));
        await trx.updateTable('trust_settings').set({ value: String(Number(r.value) + 1) }).where('key', '=', 'counter').execute();
      });
    await Promise.all(Array.from({ length: 60 }, (_, i) => bump(i % 2 ? a : b)));
    const r = await a.db.selectFrom('trust_settings').select('value').where('key', '=', 'counter').executeTakeFirstOrThrow();
    expect(r.value).toBe('60');
  });

  it.runIf(TEST_DIALECT === 'postgres')('tryLeadership: one leader; when its connection dies another takes over within 5 s', async () => {
    const one = await tryLeadership(a, 'feed-test');
    const two = await tryLeadership(b, 'feed-test');
    const first = await one.check();
    const second = await two.check();
    expect([first, second].filter(Boolean)).toHaveLength(1);
    const [leader, follower, leaderStore] = first ? [one, two, a] : [two, one, b];
    expect(await leader.check()).toBe(true);
    expect(await follower.check()).toBe(false);
    // The leader "dies": the server ends its session (as when the process is killed -9).
    const killed = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()) t`.execute(leaderStore.db);
    expect(Number(killed.rows[0].n)).toBeGreaterThanOrEqual(1);
    const t0 = Date.now();
    let took = false;
    while (Date.now() - t0 < 5000 && !took) {
      took = await follower.check();
      if (!took) await new Promise((r) => setTimeout(r, 200));
    }
    expect(took).toBe(true);
    // The old leader notices it lost the lead rather than believing it still holds it.
    expect(await leader.check()).toBe(false);
    await one.release();
    await two.release();
  });

  it.runIf(TEST_DIALECT === 'sqlite')('tryLeadership on SQLite: always the leader (one process)', async () => {
    const l = await tryLeadership(a, 'feed-test');
    expect(await l.check()).toBe(true);
    await l.release();
  });
});
