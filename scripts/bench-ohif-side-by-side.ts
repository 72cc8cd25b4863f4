/**
 * `npm run bench:viewer:ohif`: OHIF v3 and our viewer in ONE interleaved run of the shared OHIF
 * anchor harness (../shared/bench/ohif-anchor): same Orthanc, same study, same Chromium, same probe
 * (first non-blank pixels of the largest canvas, network quiet, scroll), ratios of the medians.
 *
 *   npm run bench:viewer:ohif -- [--runs 5] [--only-ours] [--requests] [--build-slices 280] [-- <more bench.mjs flags, e.g. --scroll keys>]
 *
 * --only-ours skips OHIF (for iterating on our side; ratios need both). --requests prints every request
 * our gateway answered during each run, with its time, so that "network quiet" can be explained.
 *
 * Our gateway is started in this process, in front of the harness's Orthanc. The harness opens a
 * bare URL in a fresh profile, so a tiny log-in relay on another loopback port answers it with our
 * session cookie (cookies are per host, not per port) and a redirect to the viewer: the redirect
 * counts in our time, the log-in itself (scrypt) is done once, before the runs.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { buildGateway } from '../gateway/app.js';
import { configFromEnv } from '../gateway/config.js';
import { ensureBuilt, DIST } from '../e2e/lib/stack.js';
import { login } from '../test/harness.js';
import { SHARED, REPO_ROOT, headCtFiles } from './lib/demo-data.js';
import { buildLongSeries } from './lib/long-series.js';

const ANCHOR = path.join(SHARED, 'bench', 'ohif-anchor');
// --build-slices N: a series of N slices built from the shared head CT (new UIDs, positions shifted
// along the normal; scripts/lib/long-series.ts) is what the harness loads (its DICOM_DIR), in a work
// dir of its own so that the harness's study-uid.txt names it.
const buildArg = process.argv.indexOf('--build-slices');
const buildSlices = buildArg > 0 ? Number(process.argv[buildArg + 1]) : 0;
const built = buildSlices > 0 ? buildLongSeries(headCtFiles(), buildSlices) : null;
if (built) process.env.DICOM_DIR = built.dir;
const WORK = process.env.WORK ?? (built ? `/tmp/ohif-anchor-${buildSlices}` : '/tmp/ohif-anchor');
const ORTHANC_PORT = Number(process.env.ORTHANC_PORT ?? 8042);
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? process.argv[runsArg + 1] : '5';
const onlyOurs = process.argv.includes('--only-ours');
const logRequests = process.argv.includes('--requests');
const dashDash = process.argv.indexOf('--', 2);
const harnessArgs = dashDash > 0 ? process.argv.slice(dashDash + 1) : [];

function sh(args: string[], env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync('bash', [path.join(ANCHOR, 'run.sh'), ...args], { stdio: 'inherit', env: { ...process.env, WORK, ...env } });
  if (r.status !== 0) throw new Error(`run.sh ${args[0]} failed (exit ${r.status})`);
}

async function main(): Promise<void> {
  ensureBuilt();
  sh(['setup']);
  sh(['start']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-ohif-side-'));
  const gw = await buildGateway({
    ...configFromEnv({}),
    port: 0,
    orthancUrl: `http://127.0.0.1:${ORTHANC_PORT}`,
    orthancUser: undefined,
    orthancPassword: undefined,
    database: path.join(tmp, 'gateway.sqlite'),
    staticDir: DIST,
    modelsDir: path.join(REPO_ROOT, 'models'),
    demo: true,
  });
  // Per run of ours: when the harness navigated (the relay's redirect) and when the opening stream,
  // which carries every slice of the opening series, was fully sent. The harness's own "loaded" is
  // network quiet, which for OHIF is its last slice but for ours also waits for the AI's runtime, model
  // and result upload (OHIF runs no AI): this gives the slices-only time of the same runs.
  const navStarts: number[] = [];
  const openingEnds: (number | null)[] = [];
  gw.app.addHook('onResponse', async (req, reply) => {
    if (/^\/api\/studies\/[0-9.]+\/opening$/.test(req.url)) openingEnds[navStarts.length - 1] = reply.statusCode === 200 ? Date.now() : null;
  });
  if (logRequests) {
    // Page-clock times differ per run; gateway wall-clock times are relative to each run's document request.
    let t0 = 0;
    gw.app.addHook('onResponse', async (req, reply) => {
      const now = Date.now();
      if (req.url.startsWith('/viewer/')) t0 = now - reply.elapsedTime;
      const start = now - reply.elapsedTime - t0;
      console.log(`  [gw] ${String(Math.round(start)).padStart(6)} → ${String(Math.round(now - t0)).padStart(6)} ms ${reply.statusCode} ${req.method} ${req.url.replace(/\/studies\/[0-9.]+/, '/studies/…').slice(0, 100)}`);
    });
  }
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const gwAddr = gw.app.server.address();
  const base = `http://127.0.0.1:${typeof gwAddr === 'object' && gwAddr ? gwAddr.port : 0}`;
  const relay = http.createServer();
  try {
    const client = await login(base, 'rita');
    // The pre-read of the study (AI on arrival) must not share the cores with the measured runs.
    for (const t0 = Date.now(); Date.now() - t0 < 180_000; ) {
      const tri = (await (await client.fetch('/api/triage')).json()) as { studies: Record<string, { aiState: string }> };
      const states = Object.values(tri.studies).map((x) => x.aiState);
      if (states.length && states.every((st) => !['pending', 'running'].includes(st))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    relay.on('request', (req, res) => {
      const m = /^\/go\/([0-9.]+)$/.exec(req.url ?? '');
      if (!m) return void res.writeHead(404).end();
      navStarts.push(Date.now());
      res.writeHead(302, { 'set-cookie': `${client.cookie}; Path=/; HttpOnly; SameSite=Strict`, location: `${base}/viewer/${m[1]}` }).end();
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const relayAddr = relay.address();
    const relayUrl = `http://127.0.0.1:${typeof relayAddr === 'object' && relayAddr ? relayAddr.port : 0}/go/{study}`;
    console.log(`[bench:viewer:ohif] ours: ${base} (log-in relay ${relayUrl}), OHIF: the anchor's server; runs=${runs}`);
    // Our gateway runs in this process: its CPU is the run's own, not "other" load.
    const ownPids = [fs.readFileSync(path.join(WORK, 'orthanc.pid'), 'utf8').trim(), fs.readFileSync(path.join(WORK, 'server.pid'), 'utf8').trim(), String(process.pid)].join(' ');
    const study = fs.readFileSync(path.join(WORK, 'study-uid.txt'), 'utf8').trim();
    // Asynchronously: this process must keep serving the gateway while the harness runs.
    const child = spawn(
      'node',
      [
        path.join(ANCHOR, 'bench.mjs'),
        '--study',
        study,
        '--runs',
        runs,
        ...(onlyOurs ? [] : ['--viewer', `ohif=http://127.0.0.1:${process.env.WEB_PORT ?? 8080}/viewer?StudyInstanceUIDs={study}`]),
        '--viewer',
        `ours=${relayUrl}`,
        '--json',
        path.join(WORK, 'side-by-side.json'),
        ...harnessArgs,
      ],
      { stdio: 'inherit', env: { ...process.env, WORK, BENCH_OWN_PIDS: ownPids } },
    );
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`bench.mjs failed (exit ${code})`);
    printSlicesInBrowser(navStarts, openingEnds, onlyOurs);
  } finally {
    relay.close();
    await gw.close().catch(() => {});
    sh(['stop']);
    fs.rmSync(tmp, { recursive: true, force: true });
    built?.remove();
  }
}

interface HarnessRun {
  error?: string;
  othersCpuPct?: number;
  loadedMs?: number;
}

function printSlicesInBrowser(navStarts: number[], openingEnds: (number | null)[], onlyOurs: boolean): void {
  const json = JSON.parse(fs.readFileSync(path.join(WORK, 'side-by-side.json'), 'utf8')) as { options: { maxOthers: number }; results: Record<string, HarnessRun[]> };
  const clean = (r: HarnessRun) => !r.error && !((r.othersCpuPct ?? 0) > json.options.maxOthers);
  const ours = json.results.ours ?? [];
  if (ours.length !== navStarts.length) return void console.log(`[bench:viewer:ohif] ${ours.length} harness runs but ${navStarts.length} navigations: slices-only times not paired`);
  const slices = ours.flatMap((r, i) => (clean(r) && openingEnds[i] != null ? [openingEnds[i]! - navStarts[i]] : []));
  const med = (a: number[]) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  if (!slices.length) return;
  console.log(`\n# all slices in the browser (ours: navigation → opening stream fully sent, by the gateway's clock; OHIF: network quiet)`);
  console.log(`ours   median ${med(slices).toFixed(0)} ms over ${slices.length} clean runs (${slices.map((x) => x.toFixed(0)).join(', ')})`);
  if (onlyOurs) return;
  const ohif = (json.results.ohif ?? []).filter(clean).map((r) => r.loadedMs!).filter((x) => typeof x === 'number');
  if (ohif.length) console.log(`ohif   median ${med(ohif).toFixed(0)} ms (loadedMs)\nratio  ${(med(slices) / med(ohif)).toFixed(3)}`);
}

main().catch((e) => {
  console.error(`[bench:viewer:ohif] ${(e as Error).message}`);
  process.exit(1);
});
