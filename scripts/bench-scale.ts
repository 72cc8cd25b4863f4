/**
 * npm run bench:scale [-- --readers 50 --seconds 30 --warmup 10 --signoffs 150 --studies 20 --arrival-ms 3000 --only sqlite|postgres --profile DIR]
 *
 * One gateway on SQLite vs two gateways on PostgreSQL, each behind nginx (TLS) as the scale profile
 * starts them (scripts/scale.ts: real processes, Orthanc, the demo RIS over MLLP). Per configuration:
 *  - `--readers` concurrent readers through nginx, each looping over the worklist (GET /api/triage),
 *    a study's findings, a verdict on a finding of its own (reject, then undo: two audited writes) and
 *    a DICOMweb frame through the gateway's proxy; `--warmup` seconds of the same loop first, not measured;
 *  - an arrival stream: a 2-slice head CT by C-STORE every `--arrival-ms` (read by the pre-read);
 *  - `--signoffs` sign-offs enqueued at the start (a verified SR to Orthanc and an ORU to the RIS each),
 *    spread over `--studies` one-slice studies loaded beforehand (an SR must reference images the PACS
 *    holds; messages of one study and kind go out in order), drained by the gateways' outbox workers;
 *  - PostgreSQL only: gateway 2 is killed (SIGKILL) half-way.
 * Prints p50/p95/p99 per route, requests/s over the first half (both gateways up), outbox messages/s,
 * the gateways' peak memory, where the CPU went over the first half (the box's busy cores, and cores
 * per part: gateways, PostgreSQL, Orthanc, nginx, this load generator) with the box's CPU time per
 * request, and after the run: messages lost and duplicated (SR instances per series in Orthanc, ACKs
 * per control id at the RIS), studies read more or less than once.
 * The load generator, nginx, Orthanc, PostgreSQL and the gateways share this machine's cores.
 * `--profile DIR`: each gateway writes a V8 CPU profile there when it exits (`node --cpu-prof`; a killed
 * gateway writes none), to open in Chrome DevTools.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startScale, type ScaleHandle } from './scale.js';
import { cpuBetween, cpuSnapshot, type CpuSnapshot, type CpuUse } from './lib/cpu.js';
import { freePort, uploadFiles } from './lib/orthanc.js';
import { CHEST_CR, HEAD_CT_DIR, mrSeriesFiles } from './lib/demo-data.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { reviewedFindings, sampleFindings } from '../src/core/sr/testing.js';
import { openStore, type Store } from '../gateway/db/database.js';
import { onStudySignedOff } from '../gateway/outbox/events.js';
import { startRis, type Ris } from '../gateway/outbox/testkit.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from '../gateway/preread/study-builder.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const READERS = arg('--readers', 50);
const SECONDS = arg('--seconds', 30);
/** Seconds of the same reader loop before the clock starts, not measured. */
const WARMUP = arg('--warmup', 10);
const SIGNOFFS = arg('--signoffs', 150);
const ARRIVAL_MS = arg('--arrival-ms', 3000);
/** Studies the sign-offs spread over: messages of one study and kind go out in order, so this bounds the outbox's parallelism. */
const SIGNOFF_STUDIES = arg('--studies', 20);
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? process.argv[i + 1] : '';
})();
const PROFILE_DIR = (() => {
  const i = process.argv.indexOf('--profile');
  return i >= 0 ? path.resolve(process.argv[i + 1]) : '';
})();

const FILES = [path.join(HEAD_CT_DIR, '05.dcm'), CHEST_CR, mrSeriesFiles()[0]];
const SOURCES = FILES.map((f) => parseDicomPart10(fs.readFileSync(f)));
const RITA = { id: 1, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' as const };
const ROUTES = ['worklist', 'findings', 'verdict', 'frame'] as const;
type Route = (typeof ROUTES)[number];

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

function client(scale: ScaleHandle) {
  const agent = new https.Agent({ keepAlive: true, ca: scale.certificate, maxSockets: READERS + 8 });
  const u = new URL(scale.url);
  return (p: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: u.hostname,
          port: u.port,
          path: p,
          method: opts.method ?? 'GET',
          agent,
          headers: { ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), origin: scale.url } : {}), ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** Resident memory of a process in MiB (0 once it is gone). */
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

interface Result {
  config: string;
  gateways: number;
  perRoute: Record<Route, { n: number; errors: number; p50: number; p95: number; p99: number }>;
  reqPerSFirstHalf: number;
  reqPerSWhole: number;
  errorsAfterKill: number;
  outbox: { enqueuedS: number; messages: number; acknowledged: number; seconds: number; msgPerS: number; lost: number; duplicated: number; retried: number };
  studies: { sent: number; readOnce: number; missed: number; readTwice: number };
  peakRssMiB: number[];
  killedAtS: number | null;
  /** Over the first half: cores used, and the box's busy CPU time per request answered */
  cpu: CpuUse & { msPerRequest: number };
}

async function runConfig(name: string, store: 'sqlite' | 'postgres', gateways: number, kill: boolean): Promise<Result> {
  const risPort = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-bench-scale-'));
  console.error(`[bench:scale] ${name}: starting (${gateways} gateway${gateways > 1 ? 's' : ''} on ${store} behind nginx)`);
  const scale = await startScale({
    store,
    gateways,
    log: (m) => console.error(`  ${m}`),
    gatewayEnv: {
      RIS_PORT: String(risPort),
      OUTBOX_POLL_MS: '100',
      OUTBOX_LEASE_MS: '3000',
      PREREAD_WORKERS: '1',
      PREREAD_POLL_MS: '250',
      LOGIN_MAX_FAILURES_PER_IP: '1000',
    },
    ...(PROFILE_DIR ? { gatewayNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] } : {}),
  });
  let ris: Ris | undefined;
  let st: Store | undefined;
  const built: BuiltStudy[] = [];
  try {
    ris = await startRis(risPort, path.join(tmp, 'ris.log'));
    await uploadFiles(scale.orthanc, FILES);
    const req = client(scale);
    // Sessions: one per ten readers (a log-in is a deliberate scrypt).
    const sessions: { cookie: string; csrf: string }[] = [];
    for (let i = 0; i < Math.max(1, Math.ceil(READERS / 10)); i++) {
      const r = await req('/api/auth/login', { method: 'POST', body: { username: 'rita', password: 'rita-demo' } });
      if (r.status !== 200) throw new Error(`log-in: ${r.status} ${r.body.toString().slice(0, 200)}`);
      sessions.push({ cookie: String((r.headers['set-cookie'] as string[])[0]).split(';')[0], csrf: (JSON.parse(r.body.toString()) as { csrfToken: string }).csrfToken });
    }
    const headers = (i: number) => ({ cookie: sessions[i % sessions.length].cookie, 'x-csrf-token': sessions[i % sessions.length].csrf });
    // One finding per reader on the head CT, for its verdicts (imported through the one ingestion path).
    const ct = SOURCES[0];
    const ctStudy = String(ct.StudyInstanceUID);
    const stamp = Date.now().toString(36);
    const findings = Array.from({ length: READERS }, (_, i) => ({
      id: `bench-${stamp}-${i}`,
      studyInstanceUID: ctStudy,
      type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
      label: 'Intracranial hemorrhage',
      confidence: 0.6,
      severity: 'urgent',
      regions: [{ image: { seriesInstanceUID: String(ct.SeriesInstanceUID), sopInstanceUID: String(ct.SOPInstanceUID) }, box: { x: 10 + i, y: 10, width: 20, height: 20 } }],
      model: { name: 'bench-import', version: '1.0.0' },
    }));
    const imp = await req('/api/findings', { method: 'POST', headers: headers(0), body: findings });
    if (imp.status !== 201) throw new Error(`import findings: ${imp.status} ${imp.body.toString().slice(0, 300)}`);
    const frames = SOURCES.map((s) => `/dicom-web/studies/${s.StudyInstanceUID}/series/${s.SeriesInstanceUID}/instances/${s.SOPInstanceUID}/frames/1`);
    // The arrival stream's studies, built before the clock starts (dcmodify is not what is measured).
    const arrivals = Math.ceil((SECONDS * 1000) / ARRIVAL_MS);
    const stream: BuiltStudy[] = [];
    for (let i = 0; i < arrivals; i++) stream.push(await buildHeadCtStudy({ slices: 2, patientAge: `0${40 + (i % 50)}Y`, parentDir: tmp }));
    built.push(...stream);

    // The studies the sign-offs are for (an SR must reference images the PACS holds): one slice each.
    const targets: { uid: string; findings: ReturnType<typeof reviewedFindings> }[] = [];
    for (let i = 0; i < SIGNOFF_STUDIES; i++) {
      const b = await buildHeadCtStudy({ slices: 1, firstSlice: i % 10, parentDir: tmp });
      built.push(b);
      await uploadFiles(scale.orthanc, b.files);
      targets.push({ uid: b.studyInstanceUID, findings: reviewedFindings(sampleFindings(parseDicomPart10(fs.readFileSync(b.files[0])))) });
    }
    st = await openStore(scale.databaseUrl, { key: scale.auditKey });
    const db = st.db;
    // Let the pre-read of what was just loaded finish before the clock starts (it is not the arrival stream).
    const warm = Date.now() + 120_000;
    while (Date.now() < warm) {
      const open = await db.selectFrom('preread_jobs').select('id').where('state', 'in', ['pending', 'running']).execute();
      const known = await db.selectFrom('preread_studies').select('study_uid').where('study_uid', 'in', targets.map((t) => t.uid)).execute();
      if (!open.length && known.length >= targets.length) break;
      await sleep(500);
    }
    const firstId = Number((await db.selectFrom('outbox').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())?.m ?? 0);

    const lat: Record<Route, number[]> = { worklist: [], findings: [], verdict: [], frame: [] };
    const errors: Record<Route, number> = { worklist: 0, findings: 0, verdict: 0, frame: 0 };
    const done: { t: number; ok: boolean }[] = [];
    const peak = scale.gateways.map(() => 0);
    // Each reader's place in the route cycle and its finding's state, kept across the warm-up and the run.
    const stepOf = Array.from({ length: READERS }, (_, i) => i); // readers start at different routes
    const rejectedOf = Array.from({ length: READERS }, () => false);
    const reader = async (i: number, until: number, record: boolean) => {
      while (Date.now() < until) {
        const step = stepOf[i]++;
        const rejected = rejectedOf[i];
        const route = ROUTES[step % ROUTES.length];
        const t = performance.now();
        let ok = false;
        try {
          if (route === 'worklist') ok = (await req('/api/triage', { headers: headers(i) })).status === 200;
          else if (route === 'findings') ok = (await req(`/api/studies/${ctStudy}/findings`, { headers: headers(i) })).status === 200;
          else if (route === 'verdict') {
            const r = await req(`/api/findings/${findings[i].id}/verdict`, { method: 'POST', headers: headers(i), body: rejected ? { action: 'undo' } : { action: 'reject', reason: 'false-positive' } });
            ok = r.status === 200;
            if (ok) rejectedOf[i] = !rejected;
          } else {
            const r = await req(frames[(step + 1) % frames.length], { headers: { ...headers(i), accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
            ok = r.status === 200 && r.body.length > 1000;
          }
        } catch {
          ok = false;
        }
        const ms = performance.now() - t;
        if (!record) continue;
        done.push({ t: Date.now(), ok });
        if (ok) lat[route].push(ms);
        else errors[route]++;
      }
    };
    // Warm-up: the same loop, not measured (each gateway's JIT, caches and connection pools, as in any
    // process that has been up a while), so the first half compares running systems, not cold starts.
    if (WARMUP > 0) {
      console.error(`  warm-up: ${WARMUP} s`);
      const until = Date.now() + WARMUP * 1000;
      await Promise.all(Array.from({ length: READERS }, (_, i) => reader(i, until, false)));
    }
    const t0 = Date.now();
    const end = t0 + SECONDS * 1000;
    const half = t0 + (SECONDS * 1000) / 2;
    let killedAt: number | null = null;

    const signed = new Set<string>();
    let enqueuedS = 0;
    const enqueue = (async () => {
      for (let i = 0; i < SIGNOFFS; i++) {
        const t = targets[i % targets.length];
        signed.add(t.uid);
        // SQLite: this process is a second writer beside the gateway; a transaction that meets the
        // gateway's write (SQLITE_BUSY*) is rolled back whole, so it is simply tried again.
        for (let attempt = 1; ; attempt++) {
          try {
            await db.transaction().execute((trx) => onStudySignedOff(trx, { studyInstanceUID: t.uid, findings: t.findings, user: RITA, signedAt: new Date(t0 + i).toISOString() }));
            break;
          } catch (e) {
            if (!String((e as { code?: string }).code ?? '').startsWith('SQLITE_BUSY') || attempt >= 50) throw e;
            await sleep(10 + Math.random() * 40);
          }
        }
      }
      enqueuedS = (Date.now() - t0) / 1000;
    })();
    const cpuAtStart = cpuSnapshot();
    let cpuAtHalf: CpuSnapshot | undefined;
    // Just before the half: gateway 2 is killed at the half, and its CPU time goes with its process.
    const cpuTimer = setTimeout(() => (cpuAtHalf = cpuSnapshot()), half - 100 - Date.now());
    const sampler = setInterval(() => scale.gateways.forEach((g, i) => (peak[i] = Math.max(peak[i], rssMiB(g.pid)))), 500);
    const sentUids: string[] = [];
    const arriving = (async () => {
      for (const s of stream) {
        if (Date.now() >= end) break;
        await cStore(s.files, { port: scale.orthanc.dicomPort, aet: scale.orthanc.aet })
          .then(() => sentUids.push(s.studyInstanceUID))
          .catch((e: Error) => console.error(`  arrival: ${e.message}`));
        await sleep(ARRIVAL_MS);
      }
    })();
    const killer = kill
      ? (async () => {
          await sleep(half - Date.now());
          killedAt = Date.now();
          console.error(`  killing gateway 2 (pid ${scale.gateways[1].pid}) with SIGKILL at ${((killedAt - t0) / 1000).toFixed(1)} s`);
          process.kill(scale.gateways[1].pid, 'SIGKILL');
        })()
      : Promise.resolve();
    await Promise.all([...Array.from({ length: READERS }, (_, i) => reader(i, end, true)), arriving, killer, enqueue]);
    clearInterval(sampler);
    clearTimeout(cpuTimer);
    const tEnd = Date.now();

    // Drain: every message acknowledged (or given up), every study read.
    const deadline = Date.now() + 180_000;
    // Our sign-offs' messages only (the pre-read's AI result SRs go through the outbox too).
    const ours = async () => (await db.selectFrom('outbox').selectAll().where('id', '>', firstId).execute()).filter((r) => r.study_uid && signed.has(r.study_uid));
    let rows = await ours();
    while (Date.now() < deadline && (rows.length < 2 * SIGNOFFS || rows.some((r) => r.status !== 'acknowledged' && r.status !== 'dead'))) {
      await sleep(500);
      rows = await ours();
    }
    const stuck = rows.filter((r) => r.status !== 'acknowledged');
    if (stuck.length) console.error(`  not acknowledged: ${stuck.length}; e.g. ${[...new Set(stuck.map((r) => `${r.kind} ${r.status}: ${r.last_error ?? ''}`))].slice(0, 3).join(' | ')}`);
    const acked = rows.filter((r) => r.status === 'acknowledged');
    const lastAck = Math.max(...acked.map((r) => Date.parse(r.acknowledged_at!)));
    const obSeconds = (lastAck - t0) / 1000;
    // SR: instances per SR series in Orthanc; ORU: ACKs per control id at the RIS.
    let srLost = 0;
    let srDup = 0;
    for (const r of rows.filter((x) => x.kind === 'sr-stow')) {
      const p = JSON.parse(r.payload) as { studyInstanceUID: string; seriesInstanceUID: string };
      const q = await scale.orthanc.rest(`/dicom-web/studies/${p.studyInstanceUID}/series/${p.seriesInstanceUID}/instances`, { headers: { accept: 'application/dicom+json' } });
      const n = q.status === 200 ? ((await q.json()) as unknown[]).length : 0;
      if (n === 0) srLost++;
      if (n > 1) srDup += n - 1;
    }
    const acks = new Map<string, number>();
    for (const e of ris.events()) if (e.event === 'ack' && e.ack === 'AA') acks.set(e.control_id!, (acks.get(e.control_id!) ?? 0) + 1);
    const oruIds = rows.filter((r) => r.kind === 'hl7-oru').map((r) => r.message_id);
    const oruLost = oruIds.filter((id) => !acks.get(id)).length;
    const oruDup = oruIds.reduce((s, id) => s + Math.max(0, (acks.get(id) ?? 0) - 1), 0);
    // Studies: each study sent arrived (was read by the feed) exactly once.
    const uids = sentUids;
    const studyDeadline = Date.now() + 60_000;
    let arrived: string[] = [];
    while (Date.now() < studyDeadline) {
      arrived = uids.length ? (await db.selectFrom('audit').select('study_uid').where('action', '=', 'preread-study-arrived').where('study_uid', 'in', uids).execute()).map((r) => r.study_uid!) : [];
      if (new Set(arrived).size >= uids.length) break;
      await sleep(500);
    }
    const perStudy = new Map<string, number>();
    for (const u of arrived) perStudy.set(u, (perStudy.get(u) ?? 0) + 1);
    const stored = new Set(uids);

    const within = (a: number, b: number) => done.filter((d) => d.ok && d.t >= a && d.t < b).length;
    // Cores per part over the first half (gateway 2 is killed at the half, so both are up throughout).
    const gwPids = new Set(scale.gateways.map((g) => g.pid));
    const part = (pid: number, comm: string) =>
      gwPids.has(pid) ? 'gateways' : pid === process.pid ? 'load generator' : comm === 'postgres' ? 'PostgreSQL' : comm === 'Orthanc' ? 'Orthanc' : comm === 'nginx' ? 'nginx' : null;
    const cpuAtEnd = cpuAtHalf ?? cpuSnapshot();
    const cpuUse = cpuBetween(cpuAtStart, cpuAtEnd, os.cpus().length, part);
    const halfRequests = within(cpuAtStart.at, cpuAtEnd.at);
    const perRoute = Object.fromEntries(
      ROUTES.map((r) => [r, { n: lat[r].length, errors: errors[r], p50: pct(lat[r], 50), p95: pct(lat[r], 95), p99: pct(lat[r], 99) }]),
    ) as Result['perRoute'];
    return {
      config: name,
      gateways,
      perRoute,
      reqPerSFirstHalf: within(t0, half) / ((half - t0) / 1000),
      // The run's window, not until the last reader's request returns (one waiting out a dead gateway would stretch it).
      reqPerSWhole: within(t0, end) / ((end - t0) / 1000),
      errorsAfterKill: killedAt === null ? 0 : done.filter((d) => !d.ok && d.t >= killedAt!).length,
      outbox: {
        enqueuedS,
        messages: rows.length,
        acknowledged: acked.length,
        seconds: obSeconds,
        msgPerS: acked.length / obSeconds,
        lost: srLost + oruLost + (2 * SIGNOFFS - rows.length),
        duplicated: srDup + oruDup,
        retried: rows.reduce((s, r) => s + Math.max(0, r.attempts - 1), 0),
      },
      studies: {
        sent: stored.size,
        readOnce: [...stored].filter((u) => perStudy.get(u) === 1).length,
        missed: [...stored].filter((u) => !perStudy.get(u)).length,
        readTwice: [...stored].filter((u) => (perStudy.get(u) ?? 0) > 1).length,
      },
      peakRssMiB: peak.map((p) => Math.round(p)),
      killedAtS: killedAt === null ? null : (killedAt - t0) / 1000,
      cpu: { ...cpuUse, msPerRequest: halfRequests ? (cpuUse.busyCores * cpuUse.seconds * 1000) / halfRequests : NaN },
    };
  } finally {
    await st?.close().catch(() => {});
    await ris?.stop().catch(() => {});
    await scale.stop();
    for (const b of built) b.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function print(results: Result[]): void {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');
  console.log(`\nbench:scale: ${READERS} readers, ${SECONDS} s per configuration after ${WARMUP} s of warm-up, ${SIGNOFFS} sign-offs (${2 * SIGNOFFS} messages), a study every ${ARRIVAL_MS} ms; ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  for (const r of results) {
    console.log(`\n${r.config}`);
    console.log('  route      n       err   p50 ms  p95 ms  p99 ms');
    for (const route of ROUTES) {
      const x = r.perRoute[route];
      console.log(`  ${route.padEnd(9)}  ${String(x.n).padStart(6)}  ${String(x.errors).padStart(5)}  ${f(x.p50).padStart(6)}  ${f(x.p95).padStart(6)}  ${f(x.p99).padStart(6)}`);
    }
    console.log(`  requests/s: ${r.reqPerSFirstHalf.toFixed(1)} (first half${r.killedAtS !== null ? ', both gateways up' : ''}), ${r.reqPerSWhole.toFixed(1)} (whole run)`);
    if (r.killedAtS !== null) console.log(`  gateway 2 killed (SIGKILL) at ${r.killedAtS.toFixed(1)} s; failed requests after the kill: ${r.errorsAfterKill}`);
    console.log(`  outbox: ${r.outbox.acknowledged}/${r.outbox.messages} (enqueued in ${r.outbox.enqueuedS.toFixed(1)} s) acknowledged in ${r.outbox.seconds.toFixed(1)} s = ${r.outbox.msgPerS.toFixed(1)} msg/s; lost ${r.outbox.lost}, duplicated ${r.outbox.duplicated}, retried ${r.outbox.retried}`);
    console.log(`  studies: ${r.studies.sent} sent, ${r.studies.readOnce} read once, ${r.studies.missed} missed, ${r.studies.readTwice} read twice`);
    console.log(`  gateway peak RSS: ${r.peakRssMiB.map((m) => `${m} MiB`).join(', ')}`);
    const parts = Object.entries(r.cpu.groups).sort((a, b) => b[1] - a[1]).map(([g, c]) => `${g} ${c.toFixed(2)} (kernel ${(r.cpu.system[g] ?? 0).toFixed(2)})`);
    console.log(`  CPU, first half: ${r.cpu.busyCores.toFixed(2)} of ${r.cpu.cores} cores busy (${parts.join(', ')}); ${r.cpu.msPerRequest.toFixed(2)} ms of CPU per request`);
  }
  if (results.length === 2) {
    const [one, two] = results;
    console.log(`\nthroughput ratio (two gateways on PostgreSQL / one on SQLite, first half): ${(two.reqPerSFirstHalf / one.reqPerSFirstHalf).toFixed(2)}x`);
    // Requests/s can never exceed cores / CPU per request. Even at the one-gateway run's own CPU per
    // request (no cost at all for PostgreSQL, a second process or the network between them), this box's
    // cores bound the ratio any configuration can reach against the one-gateway run.
    const ceiling = (one.cpu.cores * 1000) / one.cpu.msPerRequest;
    const oneRate = one.reqPerSFirstHalf;
    console.log(`CPU per request: ${two.cpu.msPerRequest.toFixed(2)} ms vs ${one.cpu.msPerRequest.toFixed(2)} ms (${(two.cpu.msPerRequest / one.cpu.msPerRequest).toFixed(2)}x)`);
    console.log(
      `ceiling on this box: ${one.cpu.cores} cores / ${one.cpu.msPerRequest.toFixed(2)} ms = ${ceiling.toFixed(0)} req/s = ${(ceiling / oneRate).toFixed(2)}x the one-gateway run, for any configuration at no extra CPU per request` +
        ` (the one-gateway run left ${(one.cpu.cores - one.cpu.busyCores).toFixed(2)} cores idle; the two-gateway run ${(two.cpu.cores - two.cpu.busyCores).toFixed(2)})`,
    );
  }
  console.log(JSON.stringify(results));
}

async function main() {
  const results: Result[] = [];
  if (ONLY !== 'postgres') results.push(await runConfig('one gateway, SQLite', 'sqlite', 1, false));
  if (ONLY !== 'sqlite') results.push(await runConfig('two gateways, PostgreSQL (gateway 2 killed half-way)', 'postgres', 2, true));
  print(results);
}

await main();
process.exit(0);
