/**
 * `npm run bench:preread`: a burst of N new studies sent by C-STORE (DCMTK storescu) to a real
 * Orthanc, read by the real gateway (child process, real worker threads, real model), measured
 * from the end of each study's C-STORE to its triage flag on the live event stream.
 *
 * Studies are built from the shared GE head CT slices (../shared/data) with new Study/Series/SOP
 * Instance UIDs (dcmodify) in a temp dir; every other one carries the head CT model's held-out
 * synthetic hyperdensities. By default each study has 4 slices (--slices) so that N=200 finishes on
 * a 2-core box; say so when quoting the numbers.
 *
 *   npx tsx scripts/bench-preread.ts [--n 20,200] [--slices 4] [--workers 1] [--concurrency 4]
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
const sizes = arg('n', '20,200').split(',').map(Number);
const slices = Number(arg('slices', '4'));
const workers = Number(arg('workers', '1'));
const concurrency = Number(arg('concurrency', '4'));
for (const [k, v] of Object.entries({ n: Math.min(...sizes), slices, workers, concurrency })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer`);
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function peakRssMb(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? NaN);
  return Math.round(kb / 1024);
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
      PREREAD_POLL_MS: '200',
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

async function benchOnce(n: number): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-bench-'));
  const orthanc = await startOrthanc({ dataDir: path.join(tmp, 'orthanc'), stableAge: 1 });
  const gw = await startGateway(orthanc, tmp);
  const built: BuiltStudy[] = [];
  const ac = new AbortController();
  try {
    process.stdout.write(`[bench] N=${n}: building ${n} studies of ${slices} slices with new UIDs… `);
    for (let i = 0; i < n; i++) built.push(await buildHeadCtStudy({ patientAge: '050Y', slices, firstSlice: slices < 28 ? 8 : 0, lesions: i % 2 === 0, parentDir: tmp }));
    console.log('done');

    const rita = await login(gw.baseUrl, 'rita');
    const flaggedAt = new Map<string, number>();
    const flagEvents = new Map<string, number>();
    const wanted = new Set(built.map((b) => b.studyInstanceUID));
    const sse = fetch(gw.baseUrl + '/api/events', { headers: { cookie: rita.cookie }, signal: ac.signal }).then(async (r) => {
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
          const d = JSON.parse(/^data: (.*)$/m.exec(block)![1]) as { studyUID: string; aiState: string };
          if (!wanted.has(d.studyUID) || !['done', 'failed', 'skipped'].includes(d.aiState)) continue;
          flagEvents.set(d.studyUID, (flagEvents.get(d.studyUID) ?? 0) + 1);
          if (!flaggedAt.has(d.studyUID)) flaggedAt.set(d.studyUID, Date.now());
        }
      }
    }).catch(() => {});

    // The burst: `concurrency` modalities sending at once.
    const arrivedAt = new Map<string, number>();
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < built.length) {
          const s = built[next++];
          await cStore(s.files, { port: orthanc.dicomPort, aet: orthanc.aet });
          arrivedAt.set(s.studyInstanceUID, Date.now());
        }
      }),
    );
    const sentMs = Date.now() - t0;
    const deadline = Date.now() + Math.max(120_000, n * 20_000);
    let peak = 0;
    while (flaggedAt.size < n && Date.now() < deadline) {
      peak = Math.max(peak, peakRssMb(gw.proc.pid!));
      await new Promise((r) => setTimeout(r, 500));
    }
    // Give duplicates a chance to show up before counting them.
    await new Promise((r) => setTimeout(r, 3000));
    peak = Math.max(peak, peakRssMb(gw.proc.pid!));
    const lat = built.filter((b) => flaggedAt.has(b.studyInstanceUID)).map((b) => flaggedAt.get(b.studyInstanceUID)! - arrivedAt.get(b.studyInstanceUID)!).sort((a, b) => a - b);
    const last = Math.max(...flaggedAt.values());

    const db = new Database(path.join(tmp, 'gateway.sqlite'), { readonly: true });
    const jobs = db.prepare('SELECT study_uid, model, COUNT(*) AS n FROM preread_jobs GROUP BY study_uid, model, fingerprint').all() as { study_uid: string; n: number }[];
    const finished = db.prepare("SELECT study_uid, COUNT(*) AS n FROM audit WHERE action = 'preread-inference-finished' GROUP BY study_uid").all() as { study_uid: string; n: number }[];
    const states = db.prepare('SELECT state, COUNT(*) AS n FROM preread_jobs GROUP BY state').all() as { state: string; n: number }[];
    const studiesSeen = (db.prepare('SELECT COUNT(*) AS n FROM preread_studies').get() as { n: number }).n;
    db.close();
    const lost = n - flaggedAt.size;
    const duplicated = jobs.filter((j) => j.n > 1).length + finished.filter((f) => f.n > 1).length;

    console.log(`[bench] N=${n} studies × ${slices} slices (shared GE head CT, new UIDs), C-STORE burst of ${concurrency}, ${workers} inference worker(s)`);
    console.log(`  sent in ${(sentMs / 1000).toFixed(1)} s; ${flaggedAt.size}/${n} flagged; jobs by state: ${states.map((s) => `${s.state} ${s.n}`).join(', ')}; studies recorded ${studiesSeen}`);
    console.log(`  arrival→flag latency: p50 ${(pct(lat, 50) / 1000).toFixed(2)} s, p95 ${(pct(lat, 95) / 1000).toFixed(2)} s, max ${(lat[lat.length - 1] / 1000).toFixed(2)} s`);
    console.log(`  throughput: ${((flaggedAt.size / ((last - t0) / 1000)) * 60).toFixed(1)} studies/min (first send → last flag)`);
    console.log(`  peak gateway memory (VmHWM, incl. workers): ${peak} MB`);
    console.log(`  lost: ${lost}  duplicated: ${duplicated}${lost || duplicated ? '   <-- MUST BE 0' : ''}`);
    if (lost || duplicated) process.exitCode = 1;
    ac.abort();
    await sse;
  } finally {
    ac.abort();
    gw.proc.kill('SIGTERM');
    await new Promise((r) => gw.proc.once('exit', r));
    await orthanc.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

for (const n of sizes) await benchOnce(n);
