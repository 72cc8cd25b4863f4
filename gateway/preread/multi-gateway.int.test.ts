/**
 * Two gateways on one PostgreSQL database run the pre-read as one (issue 13 item 9 with issue 14's
 * dialect helpers): only the holder of the feed's leadership follows Orthanc's change feed (each study
 * arrives once), and jobs are claimed with FOR UPDATE SKIP LOCKED under a lease (each job runs once,
 * whichever process takes it). Real Orthanc, storescu and the real model in both processes' workers.
 * Runs in the PostgreSQL pass (TEST_DB=postgres).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, waitFor, TEST_DIALECT, type Stack, type Client } from '../../test/harness.js';
import { buildGateway, type Gateway } from '../app.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from './study-builder.js';

const STUDIES = 3;
let stack: Stack;
let second: Gateway;
let rita: Client;
const built: BuiltStudy[] = [];

describe.runIf(TEST_DIALECT === 'postgres')('pre-read with two gateways on one PostgreSQL', () => {
  beforeAll(async () => {
    process.env.PREREAD_POLL_MS = '200';
    process.env.PREREAD_TIMEOUT_MS = '120000';
    stack = await startStack();
    // The second gateway: same database and PACS, its own feed follower, queue and inference workers.
    second = await buildGateway({ ...stack.gateway.config });
    await second.app.ready();
    rita = await login(stack.baseUrl, 'rita');
  });
  afterAll(async () => {
    await second?.close().catch(() => {});
    await stack?.stop();
    for (const s of built) s.remove();
  });

  it(`${STUDIES} studies: each arrives once, each job is claimed and run by one process only`, async () => {
    expect([stack.gateway.store.dialect, second.store.dialect]).toEqual(['postgres', 'postgres']);
    for (let i = 0; i < STUDIES; i++) built.push(await buildHeadCtStudy({ patientAge: `0${40 + i}Y`, slices: 3 }));
    for (const s of built) await cStore(s.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
    const uids = built.map((s) => s.studyInstanceUID);
    const db = stack.gateway.store.db;
    await waitFor(
      'every job done',
      async () => {
        const jobs = await db.selectFrom('preread_jobs').select(['study_uid', 'state']).where('study_uid', 'in', uids).execute();
        return jobs.length === STUDIES && jobs.every((j) => j.state === 'done');
      },
      180_000,
      250,
    );
    // Let any duplicate a broken claim would cause show up.
    await new Promise((r) => setTimeout(r, 1500));
    const audit = async (action: string) => (await db.selectFrom('audit').select(['study_uid', 'detail']).where('action', '=', action).where('study_uid', 'in', uids).execute()).map((a) => a.study_uid).sort();
    // One process follows the feed, the other only asks for the lead.
    expect([stack.gateway.preread.feed.polls, second.preread.feed.polls].filter((n) => n > 0)).toHaveLength(1);
    // The arrivals were handled once: one record per study.
    expect(await audit('preread-study-arrived')).toEqual([...uids].sort());
    // One start and one finish per job, never two processes on one job.
    expect(await audit('preread-inference-started')).toEqual([...uids].sort());
    expect(await audit('preread-inference-finished')).toEqual([...uids].sort());
    const jobs = await db.selectFrom('preread_jobs').select(['claimed_by', 'attempts']).where('study_uid', 'in', uids).execute();
    expect(jobs.every((j) => j.claimed_by && j.attempts === 0)).toBe(true);
    const instances = new Set<string>([stack.gateway.preread.queue.instance, second.preread.queue.instance]);
    expect(jobs.every((j) => instances.has(j.claimed_by!))).toBe(true);
    for (const uid of uids) expect((await rita.json<{ aiState: string }>(`/api/studies/${uid}/preread`)).aiState).toBe('done');
    // Each instance was read as it arrived, by one process, once (claims with FOR UPDATE SKIP LOCKED).
    const reads = await db.selectFrom('preread_slices').select(['sop_uid', 'reads', 'state']).where('study_uid', 'in', uids).execute();
    expect(reads).toHaveLength(STUDIES * 3);
    expect(reads.every((r) => r.reads === 1 && r.state === 'done')).toBe(true);
  });
});
