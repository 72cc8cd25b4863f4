/**
 * npm run bench:outbox [-- --n 1000 --studies 30]   (TEST_DB=postgres: the gateway's database on a throw-away PostgreSQL)
 * N sign-offs (verified SR to a real Orthanc + final ORU to the demo RIS over MLLP), three runs:
 * everything up; the PACS down for the middle third of the enqueues; the RIS down for the middle third.
 * Prints throughput, delivery latency p50/p95, and the counts lost and duplicated (must be 0 and 0):
 *  - SR: instances Orthanc holds per SR series vs the SR messages enqueued (lost = missing, duplicated = extra);
 *  - ORU: ACKs the RIS logged per control id (lost = never acknowledged, duplicated = acknowledged more than once).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from '../test/harness.js';
import { freePort, startOrthanc } from './lib/orthanc.js';
import { CHEST_CR, HEAD_CT_DIR, mrSeriesFiles } from './lib/demo-data.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { sampleFindings, reviewedFindings } from '../src/core/sr/testing.js';
import { onStudySignedOff } from '../gateway/outbox/events.js';
import { startRis, sleep, waitFor, type Ris } from '../gateway/outbox/testkit.js';
import { buildHeadCtStudy } from '../gateway/preread/study-builder.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('--n', 1000);
/**
 * Sign-offs are spread over this many studies (round robin). A study's messages go out in order (its
 * final ORU never overtakes its preliminary), so the studies are the parallelism: a reading room signs
 * many studies, not one study many times. The first three are the CT, CR and MR below; the rest are
 * one-slice head CTs with new UIDs (dcmodify). `--studies 3` is the earlier, narrower mix.
 */
const STUDIES = Math.max(3, arg('--studies', 30));
const FILES = [path.join(HEAD_CT_DIR, '05.dcm'), CHEST_CR, mrSeriesFiles()[0]];
const RITA = { id: 1, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' as const };

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main() {
  const built = await Promise.all(Array.from({ length: STUDIES - 3 }, (_, i) => buildHeadCtStudy({ slices: 1, firstSlice: i % 28 })));
  const files = [...FILES, ...built.flatMap((b) => b.files)];
  const SOURCES = files.map((f) => parseDicomPart10(fs.readFileSync(f)));
  const REVIEWED = SOURCES.map((s) => reviewedFindings(sampleFindings(s)));
  const risPort = await freePort();
  // The pre-read service (issue 5) would add AI results of its own; the benchmark measures sign-offs only.
  process.env.PREREAD = '0';
  console.error(`bench:outbox: ${N} sign-offs per run over ${STUDIES} studies, gateway database ${process.env.TEST_DB === 'postgres' ? 'PostgreSQL' : 'SQLite'}; starting Orthanc, gateway and the demo RIS`);
  const stack = await startStack({
    files,
    config: { outbox: { risHost: '127.0.0.1', risPort, baseDelayMs: 200, maxDelayMs: 2000, pollMs: 50, ackTimeoutMs: 5000, concurrency: 6 } },
  });
  let orthanc = stack.orthanc;
  let ris: Ris = await startRis(risPort, path.join(stack.tmp, 'ris.log'));
  const db = stack.gateway.store.db;
  const worker = stack.gateway.outbox;
  const results: Record<string, unknown>[] = [];
  let run = 0;

  async function phase(name: string, outage?: 'pacs' | 'ris') {
    run++;
    const firstId = ((await db.selectFrom('outbox').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())?.m as number | null) ?? 0;
    const t0 = Date.now();
    const mine = new Set<string>();
    for (let i = 0; i < N; i++) {
      if (outage && i === Math.floor(N / 3)) {
        if (outage === 'pacs') await orthanc.stop();
        else await ris.stop();
      }
      if (outage && i === Math.floor((2 * N) / 3)) {
        if (outage === 'pacs') orthanc = await startOrthanc({ dataDir: orthanc.dataDir, httpPort: orthanc.httpPort, dicomPort: orthanc.dicomPort, stableAge: 1 });
        else ris = await startRis(risPort, ris.logFile);
      }
      const k = i % SOURCES.length;
      const signedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 0) + run * 10_000_000 + i * 1000).toISOString();
      mine.add(signedAt);
      await db.transaction().execute((trx) =>
        onStudySignedOff(trx, { studyInstanceUID: String(SOURCES[k].StudyInstanceUID), findings: REVIEWED[k], user: RITA, signedAt }),
      );
      worker.kick();
      if (outage) await sleep(5); // spread the enqueues so the outage falls in the middle of the run
    }
    console.error(`${name}: ${2 * N} messages enqueued in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    let lastReport = Date.now();
    // The poll counts by status in the database (cheap: it shares the gateway's process and cores);
    // the rows themselves are read once, at the end.
    const mineOpen = () => db.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).where('id', '>', firstId).groupBy('status').execute();
    await waitFor(
      `${name}: all delivered`,
      async () => {
        const c = Object.fromEntries((await mineOpen()).map((x) => [x.status, Number(x.n)]));
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          console.error(`  ${name}: ${JSON.stringify(c)}`);
        }
        const done = (c.acknowledged ?? 0) + (c.dead ?? 0);
        return done >= 2 * N && done === Object.values(c).reduce((a, b) => a + b, 0) ? true : undefined;
      },
      30 * 60_000,
      100,
    ).catch(() => undefined);
    const rows = (await db.selectFrom('outbox').selectAll().where('id', '>', firstId).execute()).filter((x) => mine.has(x.dedupe_key.slice(-24)));
    const acked = rows.filter((r) => r.status === 'acknowledged');
    // The run ends at the last acknowledgement (not at the poll that saw it).
    const t1 = Math.max(t0 + 1, ...rows.map((r) => Date.parse(r.acknowledged_at ?? r.updated_at)));
    const lat = acked.map((r) => Date.parse(r.acknowledged_at!) - Date.parse(r.created_at));

    // SR: what Orthanc holds for each enqueued SR series
    const srRows = rows.filter((r) => r.kind === 'sr-stow').map((r) => JSON.parse(r.payload) as { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string });
    let srLost = 0;
    let srDup = 0;
    const byStudy = new Map<string, Map<string, number>>();
    for (const study of new Set(srRows.map((p) => p.studyInstanceUID))) {
      const r = await orthanc.rest(`/dicom-web/studies/${study}/instances?Modality=SR&includefield=0020000E`, { headers: { accept: 'application/dicom+json' } });
      const list = r.status === 204 ? [] : ((await r.json()) as Record<string, { Value: string[] }>[]);
      const m = new Map<string, number>();
      for (const inst of list) m.set(inst['0020000E'].Value[0], (m.get(inst['0020000E'].Value[0]) ?? 0) + 1);
      byStudy.set(study, m);
    }
    for (const p of srRows) {
      const n = byStudy.get(p.studyInstanceUID)?.get(p.seriesInstanceUID) ?? 0;
      if (n === 0) srLost++;
      if (n > 1) srDup += n - 1;
    }
    // ORU: ACKs per control id in the RIS log
    const ackCount = new Map<string, number>();
    for (const e of ris.events()) if (e.event === 'ack' && e.ack === 'AA') ackCount.set(e.control_id!, (ackCount.get(e.control_id!) ?? 0) + 1);
    const oruIds = rows.filter((r) => r.kind === 'hl7-oru').map((r) => r.message_id);
    const oruLost = oruIds.filter((id) => !ackCount.get(id)).length;
    const oruDup = oruIds.reduce((s, id) => s + Math.max(0, (ackCount.get(id) ?? 0) - 1), 0);
    const res = {
      run: name,
      signOffs: N,
      messages: rows.length,
      acknowledged: acked.length,
      dead: rows.filter((r) => r.status === 'dead').length,
      seconds: +((t1 - t0) / 1000).toFixed(1),
      throughputMsgPerS: +(acked.length / ((t1 - t0) / 1000)).toFixed(1),
      latencyP50ms: pct(lat, 50),
      latencyP95ms: pct(lat, 95),
      lost: srLost + oruLost,
      duplicated: srDup + oruDup,
      detail: { srLost, srDup, oruLost, oruDup, retries: rows.reduce((s, r) => s + Math.max(0, r.attempts - 1), 0) },
    };
    results.push(res);
    console.log(JSON.stringify(res));
  }

  try {
    await phase('PACS and RIS up');
    await phase('PACS down for the middle third', 'pacs');
    await phase('RIS down for the middle third', 'ris');
  } finally {
    await ris.stop();
    await orthanc.stop();
    await stack.stop();
    for (const b of built) b.remove();
  }
  console.log('\nrun                              msgs  ack  dead    s  msg/s  p50 ms  p95 ms  lost  dup');
  for (const r of results as { run: string; messages: number; acknowledged: number; dead: number; seconds: number; throughputMsgPerS: number; latencyP50ms: number; latencyP95ms: number; lost: number; duplicated: number }[]) {
    console.log(
      `${r.run.padEnd(32)} ${String(r.messages).padStart(5)} ${String(r.acknowledged).padStart(4)} ${String(r.dead).padStart(5)} ${String(r.seconds).padStart(5)} ${String(r.throughputMsgPerS).padStart(6)} ${String(r.latencyP50ms).padStart(7)} ${String(r.latencyP95ms).padStart(7)} ${String(r.lost).padStart(5)} ${String(r.duplicated).padStart(4)}`,
    );
  }
  const bad = results.some((r) => (r as { lost: number }).lost || (r as { duplicated: number }).duplicated);
  process.exit(bad ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
