/**
 * Fail-over by process death (issue 14, "kill -9 the feed leader while studies arrive"): two real gateway
 * PROCESSES (`gateway/main.ts`, as a deployment runs them) on one PostgreSQL and one Orthanc, and one of
 * them killed with SIGKILL, so nothing of it gets to clean up: its database connections drop, its
 * advisory lock and claims are left to the server and to leases.
 *
 * 1. The pre-read change-feed leader is killed while studies arrive by C-STORE (storescu): the survivor
 *    holds the feed's leadership within 5 s, and every study is read exactly once: one arrival record,
 *    one job, one inference start and finish, none missed. The killed gateway runs the feed only
 *    (PREREAD_WORKERS=0): a job it had been running would wait out the job lease (30 s, covered by
 *    gateway/preread/restart.int.test.ts), which is not what this test is about.
 * 2. A gateway is killed in the middle of an outbox delivery, at the MLLP boundary: a slow RIS peer (this
 *    file's, at the boundary we do not own) holds each ORU 300 ms before its ACK, and the kill comes
 *    while the peer holds a message sent by that gateway. The delivery is at-least-once with idempotent
 *    identities (the HL7 control id MSH-10, the SR's SOP Instance UID): 0 messages lost, every message
 *    acknowledged before the kill received exactly once, and the only messages the peer sees twice are
 *    those in flight at the kill, sent again under the same control id (a RIS that de-duplicates on
 *    MSH-10 files them once); Orthanc holds one instance per SR.
 * PostgreSQL pass only (TEST_DB=postgres): on SQLite there is one process.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECT, testDatabase, waitFor } from './harness.js';
import { spawnGateway, type GatewayProcess } from '../scripts/scale.js';
import { startOrthanc, uploadFiles, type OrthancHandle } from '../scripts/lib/orthanc.js';
import { CHEST_CR, HEAD_CT_DIR, mrSeriesFiles } from '../scripts/lib/demo-data.js';
import { lockKey } from '../gateway/db/dialect.js';
import { openStore, type Store } from '../gateway/db/database.js';
import { onStudySignedOff } from '../gateway/outbox/events.js';
import { FrameDecoder, frame } from '../gateway/mllp/framing.js';
import { buildAck, headerOf } from '../src/core/hl7/ack.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from '../gateway/preread/study-builder.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { reviewedFindings, sampleFindings } from '../src/core/sr/testing.js';
import { auditVerify } from '../scripts/audit-verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let tmp: string;
let orthanc: OrthancHandle;
const procs: GatewayProcess[] = [];

async function query<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** application_name of the session holding the advisory lock behind tryLeadership(store, name), if any. */
async function leaderOf(url: string, name: string): Promise<string | null> {
  const key = BigInt(lockKey(`leader:${name}`));
  // A bigint advisory lock shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
  const hi = (key >> 32n) & 0xffffffffn;
  const lo = key & 0xffffffffn;
  const rows = await query<{ application_name: string }>(
    url,
    `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [hi.toString(), lo.toString()],
  );
  return rows[0]?.application_name ?? null;
}

function gatewayEnv(database: string, auditKey: string, extra: Record<string, string>): Record<string, string> {
  return {
    ORTHANC_URL: orthanc.url,
    ORTHANC_USER: orthanc.user,
    ORTHANC_PASSWORD: orthanc.password,
    DATABASE: database,
    AUDIT_KEY: auditKey,
    STATIC_DIR: '',
    MODELS_DIR: path.resolve('models'),
    DEMO: '1',
    ...extra,
  };
}

const withApp = (url: string, app: string) => `${url}${url.includes('?') ? '&' : '?'}application_name=${app}`;

describe.runIf(TEST_DIALECT === 'postgres')('fail-over by kill -9 of a gateway process', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-failover-'));
    orthanc = await startOrthanc({ dataDir: path.join(tmp, 'orthanc'), stableAge: 1 });
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) await p.stop().catch(() => {});
    await orthanc?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the change-feed leader is killed while studies arrive: the survivor leads within 5 s, every study read exactly once', async () => {
    const { database } = await testDatabase(path.join(tmp, 'feed'));
    const auditKey = crypto.randomBytes(32).toString('hex');
    const common = { PREREAD_POLL_MS: '200', PREREAD_TIMEOUT_MS: '120000' };
    // A starts first and takes the feed; it runs no inference (see the file's comment).
    const a = await spawnGateway({ name: 'gateway A', env: gatewayEnv(withApp(database, 'gw_a'), auditKey, { ...common, PREREAD_WORKERS: '0' }) });
    procs.push(a);
    await waitFor('A leads the feed', async () => (await leaderOf(database, 'preread-feed')) === 'gw_a', 30_000, 100);
    const b = await spawnGateway({ name: 'gateway B', env: gatewayEnv(withApp(database, 'gw_b'), auditKey, { ...common, PREREAD_WORKERS: '1' }) });
    procs.push(b);

    const studies: BuiltStudy[] = [];
    for (let i = 0; i < 6; i++) studies.push(await buildHeadCtStudy({ patientAge: `0${50 + i}Y`, slices: 2, parentDir: tmp }));
    const uids = studies.map((s) => s.studyInstanceUID);
    const arrivals = async () =>
      (await query<{ study_uid: string }>(database, `SELECT study_uid FROM audit WHERE action = 'preread-study-arrived' AND study_uid = ANY($1)`, [uids])).map((r) => r.study_uid);

    // The arrival stream: one study every 700 ms, by C-STORE, carrying on across the kill.
    const sending = (async () => {
      for (const s of studies) {
        await cStore(s.files, { port: orthanc.dicomPort, aet: orthanc.aet });
        await sleep(700);
      }
    })();
    // Kill the leader once it has read some of the stream.
    await waitFor('A read two studies', async () => (await arrivals()).length >= 2, 30_000, 50);
    const killedAt = Date.now();
    process.kill(a.pid, 'SIGKILL');
    await waitFor('B leads the feed', async () => (await leaderOf(database, 'preread-feed')) === 'gw_b', 10_000, 50);
    const takeOverMs = Date.now() - killedAt;
    console.log(`[failover] feed leader killed after ${(await arrivals()).length} arrivals; B took the lead in ${takeOverMs} ms`);
    expect(takeOverMs).toBeLessThan(5000);
    expect(a.exited()).toMatch(/SIGKILL/);

    await sending;
    await waitFor(
      'every study read (its job done)',
      async () => {
        const jobs = await query<{ state: string }>(database, `SELECT state FROM preread_jobs WHERE study_uid = ANY($1)`, [uids]);
        return jobs.length === uids.length && jobs.every((j) => j.state === 'done');
      },
      90_000,
      250,
    );
    await sleep(1000); // a duplicate a broken hand-over would cause shows up now
    const audit = async (action: string) => (await query<{ study_uid: string }>(database, `SELECT study_uid FROM audit WHERE action = $1 AND study_uid = ANY($2)`, [action, uids])).map((r) => r.study_uid).sort();
    const sorted = [...uids].sort();
    // Each study arrived once (none missed, none read twice across the hand-over), and was run once.
    expect(await audit('preread-study-arrived')).toEqual(sorted);
    expect(await audit('preread-inference-started')).toEqual(sorted);
    expect(await audit('preread-inference-finished')).toEqual(sorted);
    const jobs = await query<{ study_uid: string; claimed_by: string; attempts: number }>(database, `SELECT study_uid, claimed_by, attempts FROM preread_jobs WHERE study_uid = ANY($1)`, [uids]);
    expect(jobs.map((j) => j.study_uid).sort()).toEqual(sorted);
    expect(new Set(jobs.map((j) => j.claimed_by)).size).toBe(1); // all by B, the one with workers
    // The cursor is past every arrival; the chain the two processes appended to still verifies.
    expect((await auditVerify(database, { key: auditKey })).message).toMatch(/^audit chain intact/);
    await b.stop();
  }, 150_000);

  it('a gateway killed while the RIS holds its message: 0 lost, no acknowledged message sent twice, in-flight ones re-sent under the same control id', async () => {
    const { database } = await testDatabase(path.join(tmp, 'outbox'));
    const auditKey = crypto.randomBytes(32).toString('hex');
    const files = [path.join(HEAD_CT_DIR, '05.dcm'), CHEST_CR, mrSeriesFiles()[0]];
    await uploadFiles(orthanc, files);
    const sources = files.map((f) => parseDicomPart10(fs.readFileSync(f)));
    const reviewed = sources.map((s) => reviewedFindings(sampleFindings(s)));

    // The slow RIS: ACKs AA after 300 ms; logs every receipt with the sending connection's port.
    const received: { controlId: string; remotePort: number; t: number }[] = [];
    const pending = new Map<number, string>(); // remote port -> control id not yet acknowledged
    const ris = net.createServer((sock) => {
      const dec = new FrameDecoder();
      const remotePort = sock.remotePort!;
      sock.on('error', () => {});
      sock.on('data', (chunk) => {
        for (const msg of dec.push(chunk)) {
          const h = headerOf(msg);
          received.push({ controlId: h.controlId ?? '', remotePort, t: Date.now() });
          pending.set(remotePort, h.controlId ?? '');
          setTimeout(() => {
            pending.delete(remotePort);
            if (!sock.destroyed) sock.write(frame(buildAck({ code: 'AA', controlId: h.controlId ?? '', ackControlId: `ACK${received.length}`, at: new Date(), received: h })));
          }, 300);
        }
      });
    });
    await new Promise<void>((r) => ris.listen(0, '127.0.0.1', () => r()));
    const risPort = (ris.address() as net.AddressInfo).port;
    let store: Store | undefined;
    try {
      const outboxEnv = { PREREAD: '0', RIS_PORT: String(risPort), OUTBOX_LEASE_MS: '1500', OUTBOX_POLL_MS: '50', OUTBOX_CONCURRENCY: '4', HL7_ACK_TIMEOUT_MS: '5000', OUTBOX_BASE_DELAY_MS: '100', OUTBOX_MAX_DELAY_MS: '500' };
      const a = await spawnGateway({ name: 'gateway A', env: gatewayEnv(database, auditKey, outboxEnv) });
      procs.push(a);
      const b = await spawnGateway({ name: 'gateway B', env: gatewayEnv(database, auditKey, outboxEnv) });
      procs.push(b);

      // 30 sign-offs over the three studies: 30 SRs to Orthanc, 30 ORUs to the slow RIS (in order per study, so three at a time).
      const N = 30;
      store = await openStore(database, { key: auditKey });
      const db = store.db;
      const rita = { id: 1, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' as const };
      for (let i = 0; i < N; i++) {
        const k = i % sources.length;
        await db.transaction().execute((trx) => onStudySignedOff(trx, { studyInstanceUID: String(sources[k].StudyInstanceUID), findings: reviewed[k], user: rita, signedAt: new Date(Date.UTC(2026, 1, 1) + i * 1000).toISOString() }));
      }

      // Wait until the RIS holds a message that A sent (its connection's local port belongs to A's pid), then kill A.
      let inFlight: string[] = [];
      await waitFor(
        'the RIS holding a message from A',
        async () => {
          if (received.length < 8) return false;
          const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${risPort} )`], { encoding: 'utf8' });
          const aPorts = out
            .split('\n')
            .filter((l) => l.includes(`pid=${a.pid},`))
            .map((l) => Number(/127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:\d+/.exec(l)?.[1]));
          const held = aPorts.filter((p) => pending.has(p)).map((p) => pending.get(p)!);
          if (!held.length) return false;
          process.kill(a.pid, 'SIGKILL');
          inFlight = held;
          return true;
        },
        30_000,
        10,
      );
      const ackedBeforeKill = (await db.selectFrom('outbox').select(['message_id']).where('kind', '=', 'hl7-oru').where('status', '=', 'acknowledged').execute()).map((r) => r.message_id);
      console.log(`[failover] gateway A killed holding ${inFlight.length} ORU(s) at the RIS; ${ackedBeforeKill.length} ORUs acknowledged before`);

      const rows = await waitFor(
        'every message acknowledged',
        async () => {
          const r = await db.selectFrom('outbox').selectAll().execute();
          return r.length === 2 * N && r.every((x) => x.status === 'acknowledged') ? r : undefined;
        },
        45_000,
        200,
      );
      await sleep(500);
      const perId = new Map<string, number>();
      for (const x of received) perId.set(x.controlId, (perId.get(x.controlId) ?? 0) + 1);
      const oruIds = rows.filter((r) => r.kind === 'hl7-oru').map((r) => r.message_id);
      expect(oruIds).toHaveLength(N);
      // 0 lost: every ORU reached the RIS.
      expect(oruIds.filter((id) => !perId.get(id))).toEqual([]);
      // Acknowledged before the kill: received exactly once (the survivor never sends a recorded ACK again).
      expect(ackedBeforeKill.length).toBeGreaterThan(0);
      expect(ackedBeforeKill.filter((id) => perId.get(id) !== 1)).toEqual([]);
      // Received twice: only what A had in flight at the kill, each re-sent once under its own control id.
      // In flight = sent and not yet recorded as acknowledged: those the RIS still held, and any whose ACK
      // A had read but not yet committed with its audit record (the at-least-once window the README
      // describes). A runs at most OUTBOX_CONCURRENCY (4) deliveries at once.
      const dupes = [...perId].filter(([, n]) => n > 1).map(([id]) => id);
      console.log(`[failover] duplicates at the RIS: ${dupes.length} (held by the RIS at the kill: ${inFlight.length}); ${received.length} receipts for ${N} ORUs`);
      expect(dupes.filter((id) => ackedBeforeKill.includes(id))).toEqual([]);
      expect(dupes.length).toBeLessThanOrEqual(4);
      expect([...perId.values()].every((n) => n <= 2)).toBe(true);
      expect(inFlight.every((id) => perId.get(id) === 2)).toBe(true);
      // SR: one instance per SR series in Orthanc (a re-sent STOW of the same SOP Instance UID stores nothing new).
      const srs = rows.filter((r) => r.kind === 'sr-stow').map((r) => JSON.parse(r.payload) as { studyInstanceUID: string; seriesInstanceUID: string });
      const perSeries = new Map<string, number>();
      for (const study of new Set(srs.map((s) => s.studyInstanceUID))) {
        const r = await orthanc.rest(`/dicom-web/studies/${study}/instances?Modality=SR&includefield=0020000E`, { headers: { accept: 'application/dicom+json' } });
        const list = r.status === 204 ? [] : ((await r.json()) as Record<string, { Value: string[] }>[]);
        for (const inst of list) perSeries.set(inst['0020000E'].Value[0], (perSeries.get(inst['0020000E'].Value[0]) ?? 0) + 1);
      }
      expect(srs.filter((s) => perSeries.get(s.seriesInstanceUID) !== 1)).toEqual([]);
      expect((await auditVerify(database, { key: auditKey })).message).toMatch(/^audit chain intact/);
      await b.stop();
    } finally {
      await store?.close();
      await new Promise<void>((r) => ris.close(() => r()));
    }
  }, 150_000);
});
