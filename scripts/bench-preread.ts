/**
 * `npm run bench:preread`: the pre-read measured end to end, as a modality and a reader see it: DCMTK
 * storescu sends 28-slice head CTs (the shared GE series with new UIDs and the head CT model's held-out
 * synthetic lesions painted in, so each has a critical finding) to a real Orthanc (StableAge 1 s); the
 * real gateway (child process, worker threads, real model) reads them as they arrive; times come from
 * the reader's live event stream (the first `triage` event with priority critical = the flag; the
 * first with the AI state done = the study's final result).
 *
 *  1. single arrivals: N studies sent one after another (one storescu association each, waiting for the
 *     flag and the final result before the next): arrival→flag measured from the end of the C-STORE,
 *     i.e. after the last instance is stored (negative: flagged before the last instance was in);
 *  2. a burst of B studies from `concurrency` modalities at once: flag and final latency p50/p95;
 *  3. with --burst N (e.g. 200): a burst of N studies drained: lost (no final result) and duplicated
 *     (an instance given to a worker twice, a second job or a second result for the same images).
 *
 *   npx tsx scripts/bench-preread.ts [--singles 20] [--burst 20[,200]] [--slices 28] [--concurrency 4] [--workers <cores>]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startOrthanc, type OrthancHandle } from './lib/orthanc.js';
import { REPO_ROOT } from './lib/demo-data.js';
import { login } from '../test/harness.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from '../gateway/preread/study-builder.js';

function arg(name: string, d: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
}
const singles = Number(arg('singles', '20'));
const bursts = arg('burst', '20').split(',').filter(Boolean).map(Number);
const slices = Number(arg('slices', '28'));
const concurrency = Number(arg('concurrency', '4'));
const workers = Number(arg('workers', String(os.availableParallelism())));
for (const [k, v] of Object.entries({ singles: singles || 1, burst: Math.min(...bursts, 1e9), slices, concurrency, workers })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer`);
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const s2 = (ms: number) => (ms / 1000).toFixed(2);
const summary = (xs: number[]) => {
  const l = [...xs].sort((a, b) => a - b);
  return `p50 ${s2(pct(l, 50))} s, p95 ${s2(pct(l, 95))} s, max ${s2(l[l.length - 1])} s (n=${l.length})`;
};

function peakRssMb(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? NaN) / 1024);
}

async function startGateway(orthanc: OrthancHandle, tmp: string): Promise<{ proc: ChildProcess; baseUrl: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      ...process.env,
      GATEWAY_PORT: '0',
      ORTHANC_URL: orthanc.url,
      ORTHANC_USER: orthanc.user,
      ORTHANC_PASSWORD: orthanc.password,
      DATABASE: path.join(tmp, 'gateway.sqlite'),
      DEMO: '1',
      STATIC_DIR: '',
      MODELS_DIR: path.join(REPO_ROOT, 'models'),
      LOG: '0',
      PREREAD_POLL_MS: '100',
      PREREAD_WORKERS: String(workers),
      PREREAD_TIMEOUT_MS: String(3600_000),
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.on('message', (m: { ready?: boolean; port?: number }) => m.ready && m.port && resolve(m.port));
    proc.on('exit', (c) => reject(new Error(`gateway exited ${c}`)));
  });
  return { proc, baseUrl: `http://127.0.0.1:${port}` };
}

interface Live {
  flaggedAt: Map<string, number>;
  doneAt: Map<string, number>;
}

/** The reader's live stream: first critical flag and first final state per study. */
function listen(baseUrl: string, cookie: string, signal: AbortSignal): Live & { closed: Promise<void> } {
  const live: Live = { flaggedAt: new Map(), doneAt: new Map() };
  const closed = fetch(baseUrl + '/api/events', { headers: { cookie }, signal })
    .then(async (r) => {
      const reader = r.body!.getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!block.startsWith('event: triage')) continue;
          const d = JSON.parse(/^data: (.*)$/m.exec(block)![1]) as { studyUID: string; aiState: string; priority: string | null };
          const now = Date.now();
          if (d.priority === 'critical' && !live.flaggedAt.has(d.studyUID)) live.flaggedAt.set(d.studyUID, now);
          if (['done', 'failed', 'skipped'].includes(d.aiState) && !live.doneAt.has(d.studyUID)) live.doneAt.set(d.studyUID, now);
        }
      }
    })
    .catch(() => {});
  return { ...live, closed };
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

/**
 * When each study's flag and result were stored (the audit: first `critical-alert-raised`, and
 * `preread-inference-finished`), as opposed to when a reader's live stream showed them: the stream
 * computes each event's view when it sends it, so under a backlog it shows later.
 */
function storedTimes(file: string): { flagged: Map<string, number>; finished: Map<string, number> } {
  const db = new Database(file, { readonly: true });
  const first = (action: string) => {
    const m = new Map<string, number>();
    for (const r of db.prepare('SELECT study_uid, at FROM audit WHERE action = ? ORDER BY seq').all(action) as { study_uid: string; at: string }[]) if (!m.has(r.study_uid)) m.set(r.study_uid, Date.parse(r.at));
    return m;
  };
  const out = { flagged: first('critical-alert-raised'), finished: first('preread-inference-finished') };
  db.close();
  return out;
}

function dbCounts(file: string, uids: Set<string>): { twiceRead: number; dupJobs: number; dupResults: number; states: string } {
  const db = new Database(file, { readonly: true });
  const mine = <T extends { study_uid: string }>(rows: T[]) => rows.filter((r) => uids.has(r.study_uid));
  const twiceRead = mine(db.prepare('SELECT study_uid, reads FROM preread_slices').all() as { study_uid: string; reads: number }[]).filter((r) => r.reads !== 1).length;
  const dupJobs = mine(db.prepare('SELECT study_uid, COUNT(*) AS n FROM preread_jobs GROUP BY study_uid, model, fingerprint').all() as { study_uid: string; n: number }[]).filter((j) => j.n > 1).length;
  const dupResults = mine(db.prepare("SELECT study_uid, COUNT(*) AS n FROM audit WHERE action = 'preread-inference-finished' GROUP BY study_uid").all() as { study_uid: string; n: number }[]).filter((f) => f.n > 1).length;
  const states = (db.prepare('SELECT state, COUNT(*) AS n FROM preread_slices GROUP BY state').all() as { state: string; n: number }[]).map((s) => `${s.state} ${s.n}`).join(', ');
  db.close();
  return { twiceRead, dupJobs, dupResults, states };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-bench-'));
const orthanc = await startOrthanc({ dataDir: path.join(tmp, 'orthanc'), stableAge: 1 });
const gw = await startGateway(orthanc, tmp);
const ac = new AbortController();
const peer = { port: orthanc.dicomPort, aet: orthanc.aet };
const build = (n: number) => Promise.all(Array.from({ length: n }, () => buildHeadCtStudy({ patientAge: '050Y', slices, firstSlice: slices < 28 ? 8 : 0, lesions: true, parentDir: tmp })));
let failed = false;
try {
  const rita = await login(gw.baseUrl, 'rita');
  const live = listen(gw.baseUrl, rita.cookie, ac.signal);
  console.log(`[bench] ${new Date().toISOString()} · ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}) · ${workers} inference worker(s) · ${slices}-slice head CTs with synthetic lesions · Orthanc StableAge 1 s · feed poll 100 ms`);
  // Warm-up: one study (model load in every worker, Orthanc caches), not counted.
  const [warm] = await build(1);
  await cStore(warm.files, peer);
  await until(() => live.doneAt.has(warm.studyInstanceUID), 120_000);

  if (singles > 0) {
    const studies = await build(singles);
    const flag: number[] = [];
    const final: number[] = [];
    const storedAtSingle = new Map<string, number>();
    for (const s of studies) {
      await cStore(s.files, peer);
      const stored = Date.now();
      storedAtSingle.set(s.studyInstanceUID, stored);
      await until(() => live.flaggedAt.has(s.studyInstanceUID) && live.doneAt.has(s.studyInstanceUID), 120_000);
      if (live.flaggedAt.has(s.studyInstanceUID)) flag.push(live.flaggedAt.get(s.studyInstanceUID)! - stored);
      if (live.doneAt.has(s.studyInstanceUID)) final.push(live.doneAt.get(s.studyInstanceUID)! - stored);
    }
    console.log(`[bench] ${singles} single arrivals (one C-STORE association each), measured from the last instance stored:`);
    const st = storedTimes(path.join(tmp, 'gateway.sqlite'));
    const sFlag = studies.filter((s) => st.flagged.has(s.studyInstanceUID)).map((s) => st.flagged.get(s.studyInstanceUID)! - storedAtSingle.get(s.studyInstanceUID)!);
    console.log(`  arrival→flag seen on a reader's live stream: ${summary(flag)}   (target p95 ≤ 1.0 s)`);
    console.log(`  arrival→flag stored (alert raised): ${summary(sFlag)}`);
    console.log(`  arrival→final seen live: ${summary(final)}   (includes StableAge 1 s)`);
    if (flag.length < singles) console.log(`  NOT FLAGGED: ${singles - flag.length}`);
  }

  for (const n of bursts) {
    process.stdout.write(`[bench] burst of ${n}: building… `);
    const studies: BuiltStudy[] = await build(n);
    console.log('sending');
    const uids = new Set(studies.map((b) => b.studyInstanceUID));
    const storedAt = new Map<string, number>();
    const t0 = Date.now();
    let next = 0;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, peakRssMb(gw.proc.pid!))), 500);
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < studies.length) {
          const s = studies[next++];
          await cStore(s.files, peer);
          storedAt.set(s.studyInstanceUID, Date.now());
        }
      }),
    );
    const sentMs = Date.now() - t0;
    await until(() => [...uids].every((u) => live.doneAt.has(u)), Math.max(180_000, n * 30_000));
    await new Promise((r) => setTimeout(r, 3000)); // let duplicates show up before counting
    clearInterval(sampler);
    const flag = studies.filter((s) => live.flaggedAt.has(s.studyInstanceUID)).map((s) => live.flaggedAt.get(s.studyInstanceUID)! - storedAt.get(s.studyInstanceUID)!);
    const final = studies.filter((s) => live.doneAt.has(s.studyInstanceUID)).map((s) => live.doneAt.get(s.studyInstanceUID)! - storedAt.get(s.studyInstanceUID)!);
    const last = Math.max(...studies.map((s) => live.doneAt.get(s.studyInstanceUID) ?? 0));
    const c = dbCounts(path.join(tmp, 'gateway.sqlite'), uids);
    const lost = n - final.length;
    const duplicated = c.twiceRead + c.dupJobs + c.dupResults;
    console.log(`[bench] burst of ${n} × ${slices} slices from ${concurrency} senders: sent in ${s2(sentMs)} s; ${flag.length}/${n} flagged, ${final.length}/${n} final`);
    const st = storedTimes(path.join(tmp, 'gateway.sqlite'));
    const sFlag = studies.filter((s) => st.flagged.has(s.studyInstanceUID)).map((s) => st.flagged.get(s.studyInstanceUID)! - storedAt.get(s.studyInstanceUID)!);
    const sFinal = studies.filter((s) => st.finished.has(s.studyInstanceUID)).map((s) => st.finished.get(s.studyInstanceUID)! - storedAt.get(s.studyInstanceUID)!);
    console.log(`  arrival→flag stored (alert raised):  ${summary(sFlag)}   (target p95 ≤ 6 s for 20)`);
    console.log(`  arrival→flag seen on a reader's live stream: ${summary(flag)}`);
    console.log(`  arrival→final stored: ${summary(sFinal)}; seen live: ${summary(final)}`);
    console.log(`  drained at ${((final.length / ((last - t0) / 1000)) * 60).toFixed(1)} studies/min (first send → last final); reads by state: ${c.states}; peak gateway RSS ${peak} MB`);
    console.log(`  lost: ${lost}  duplicated: ${duplicated} (instances read twice ${c.twiceRead}, second jobs ${c.dupJobs}, second results ${c.dupResults})${lost || duplicated ? '   <-- MUST BE 0' : ''}`);
    if (lost || duplicated) failed = true;
    for (const s of studies) s.remove();
  }
} finally {
  ac.abort();
  gw.proc.kill('SIGTERM');
  await new Promise((r) => gw.proc.once('exit', r));
  await orthanc.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
