/**
 * The reader policy snapshot is read from the four policy tables only when the policy generation moved
 * (triggers on every write, both dialects), and never lags a committed change: made through the
 * service, by hand in SQL, or (PostgreSQL) by another gateway on the same database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { TEST_DIALECT, testDatabase } from '../../test/harness.js';
import { openStore, type Store } from '../db/database.js';
import { migrate } from '../db/migrations.js';
import { createModelRegistry } from '../ai/registry.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { currentPolicy, disableAiForStudy, enableAiForStudy, readerPolicySnapshot, setPolicy, setRolloutMode } from './service.js';

const ADA = { id: 1, username: 'ada', displayName: 'Admin^Ada', role: 'admin' as const };
const models = createModelRegistry(path.join(REPO_ROOT, 'models'));
let tmp: string;
let a: Store;
/** Another gateway's handle on PostgreSQL; the same handle on SQLite (one process). */
let b: Store;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-policy-snap-'));
  const loc = await testDatabase(tmp);
  a = await openStore(loc.database, { keyFile: loc.auditKeyFile });
  await migrate(a);
  b = TEST_DIALECT === 'postgres' ? await openStore(loc.database, { keyFile: loc.auditKeyFile }) : a;
});
afterAll(async () => {
  await a?.close();
  if (b !== a) await b?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const snap = () => readerPolicySnapshot({ db: a.db, models });

describe('reader policy snapshot', () => {
  it('is kept while nothing changed, and reflects every committed write at once', async () => {
    const first = await snap();
    const again = await snap();
    // Kept: the very same tables, not read again.
    expect(again.disabledStudies).toBe(first.disabledStudies);
    expect(again.rollout).toBe(first.rollout);

    await disableAiForStudy(b.db, '1.2.3.4', 'test', ADA);
    const s1 = await snap();
    expect(s1.disabledStudies.has('1.2.3.4')).toBe(true);
    await enableAiForStudy(b.db, '1.2.3.4', ADA);
    expect((await snap()).disabledStudies.has('1.2.3.4')).toBe(false);

    // By hand in SQL, no service code involved: the trigger moves the generation all the same.
    await sql`INSERT INTO ai_disabled_modalities (modality, disabled_by, disabled_at) VALUES ('MR', 'dba', '2026-12-07T00:00:00Z')`.execute(b.db);
    expect((await snap()).disabledModalities).toEqual(['MR']);
    await sql`UPDATE ai_disabled_modalities SET modality = 'CT'`.execute(b.db);
    expect((await snap()).disabledModalities).toEqual(['CT']);
    await sql`DELETE FROM ai_disabled_modalities`.execute(b.db);
    expect((await snap()).disabledModalities).toEqual([]);

    await setRolloutMode(b.db, 'head-ct-hyperdensity', 'silent', ADA);
    expect((await snap()).rollout.modes['head-ct-hyperdensity']).toBe('silent');

    const before = await currentPolicy(b.db);
    const edited = { roles: { ...before.policy.roles, technologist: { kinds: [], minConfidence: 0 } } };
    await setPolicy(b.db, edited, ADA, 'technologists see nothing');
    expect((await snap()).policy).toEqual(edited);

    if (TEST_DIALECT === 'postgres') {
      await sql`TRUNCATE model_rollout`.execute(b.db);
      expect((await snap()).rollout.modes).toEqual({});
    }
  });

  it('a write rolled back moves nothing: the snapshot is kept', async () => {
    const kept = await snap();
    await expect(
      b.db.transaction().execute(async (trx) => {
        await trx.insertInto('ai_disabled_studies').values({ study_uid: '9.9.9', reason: 'never', disabled_by: 'ada', disabled_at: new Date().toISOString() }).execute();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const after = await snap();
    expect(after.disabledStudies.has('9.9.9')).toBe(false);
    expect(after.disabledStudies).toBe(kept.disabledStudies);
  });
});
