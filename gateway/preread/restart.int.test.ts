/**
 * Crash and restart: the gateway runs as a real child process (`node --import tsx gateway/main.ts`),
 * is killed with SIGKILL while it reads a study as it arrives, and started again on the same database.
 * The study's result is made exactly once, every instance read and none read again once done; a study that arrived while the gateway was down is picked up;
 * nothing the feed already delivered is read twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startOrthanc, type OrthancHandle } from '../../scripts/lib/orthanc.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { login } from '../../test/harness.js';
import { buildHeadCtStudy, cStore } from './study-builder.js';
import type { StudyPreread } from './service.js';
import { waitFor as sharedWaitFor } from '../../test/harness.js';

let orthanc: OrthancHandle;
let tmp: string;
let child: ChildProcess | null = null;

async function startGateway(): Promise<{ proc: ChildProcess; baseUrl: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
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
      PREREAD_TIMEOUT_MS: '300000',
    },
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gateway did not start: ${stderr}`)), 60_000);
    proc.on('message', (m: { ready?: boolean; port?: number }) => {
      if (m.ready && m.port) {
        clearTimeout(t);
        resolve(m.port);
      }
    });
    proc.on('exit', (code) => reject(new Error(`gateway exited ${code}: ${stderr}`)));
  });
  child = proc;
  return { proc, baseUrl: `http://127.0.0.1:${port}` };
}

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000, everyMs = 100) =>
  sharedWaitFor(what, fn, timeoutMs, everyMs);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-restart-'));
  orthanc = await startOrthanc({ dataDir: path.join(tmp, 'orthanc'), stableAge: 1 });
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await orthanc?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('pre-read across a gateway crash', () => {
  it('kill -9 while a study is read as it arrives → finished once after restart; instances and a study sent while down are picked up', async () => {
    const adult = await buildHeadCtStudy({ patientAge: '050Y' });
    const child9 = await buildHeadCtStudy({ patientAge: '009Y', slices: 3 });
    try {
      let gw = await startGateway();
      let rita = await login(gw.baseUrl, 'rita');
      const state = (uid: string) => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));

      // The study arrives in two halves; the gateway is killed while it reads the first half as it lands
      // (read-while-arriving: slices are read one by one before the study is stable), and the second
      // half arrives while it is down.
      const half = Math.ceil(adult.files.length / 2);
      await cStore(adult.files.slice(0, half), { port: orthanc.dicomPort, aet: orthanc.aet });
      const dbPath = path.join(tmp, 'gateway.sqlite');
      const slices = () => {
        const ro = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          return ro.prepare('SELECT sop_uid, state, reads FROM preread_slices WHERE study_uid = ?').all(adult.studyInstanceUID) as { sop_uid: string; state: string; reads: number }[];
        } finally {
          ro.close();
        }
      };
      await waitFor('a first slice read', async () => slices().some((r) => r.state === 'done'), 120_000, 20);
      gw.proc.kill('SIGKILL');
      await new Promise((r) => gw.proc.once('exit', r));
      const readBeforeKill = new Set(slices().filter((r) => r.state === 'done').map((r) => r.sop_uid));
      expect(readBeforeKill.size).toBeGreaterThan(0);

      // While the gateway is down, the rest of the study and another study arrive.
      await cStore(adult.files.slice(half), { port: orthanc.dicomPort, aet: orthanc.aet });
      await cStore(child9.files, { port: orthanc.dicomPort, aet: orthanc.aet });
      await new Promise((r) => setTimeout(r, 2500)); // Orthanc declares both stable meanwhile

      gw = await startGateway();
      rita = await login(gw.baseUrl, 'rita');
      const done = await waitFor('job done after restart', async () => {
        const s = await state(adult.studyInstanceUID);
        return s && s.jobs[0]?.state === 'done' ? s : null;
      });
      expect(done.jobs).toHaveLength(1);
      expect(done.aiState).toBe('done');
      const missed = await waitFor('study sent while down', () => state(child9.studyInstanceUID));
      expect(missed.routing.find((r) => r.model === 'head-ct-hyperdensity')?.reason).toBe('outside indication: age 9 < 18');

      // Let the feed run a few more rounds: nothing is repeated.
      await new Promise((r) => setTimeout(r, 1500));
      gw.proc.kill('SIGTERM');
      await new Promise((r) => gw.proc.once('exit', r));

      const db = new Database(path.join(tmp, 'gateway.sqlite'), { readonly: true });
      try {
        const jobs = db.prepare('SELECT * FROM preread_jobs WHERE study_uid = ?').all(adult.studyInstanceUID) as { id: string; state: string; findings_count: number }[];
        expect(jobs).toHaveLength(1);
        const audit = db.prepare('SELECT action, detail FROM audit WHERE study_uid = ?').all(adult.studyInstanceUID) as { action: string; detail: string }[];
        expect(audit.filter((a) => a.action === 'preread-study-arrived')).toHaveLength(1);
        expect(audit.filter((a) => a.action === 'preread-inference-started')).toHaveLength(1);
        expect(audit.filter((a) => a.action === 'preread-inference-finished')).toHaveLength(1);
        // Every instance read, once per instance; what was read before the kill is not read again
        // (an instance a worker held at the kill is read again: at-least-once, never lost).
        const rows = db.prepare('SELECT sop_uid, state, reads FROM preread_slices WHERE study_uid = ?').all(adult.studyInstanceUID) as { sop_uid: string; state: string; reads: number }[];
        expect(rows).toHaveLength(adult.files.length);
        expect(rows.every((r) => r.state === 'done')).toBe(true);
        for (const r of rows) if (readBeforeKill.has(r.sop_uid)) expect(r.reads).toBe(1);
        const findings = db.prepare("SELECT id FROM findings WHERE study_uid = ? AND source = 'preread'").all(adult.studyInstanceUID);
        expect(findings).toHaveLength(jobs[0].findings_count);
        expect(db.prepare('SELECT COUNT(*) AS n FROM preread_studies').get()).toEqual({ n: 2 });
        // The preliminary result went to the outbox once (it is written in the job's completing transaction).
        expect(db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE study_uid = ? AND kind = 'hl7-oru'").get(adult.studyInstanceUID)).toEqual({ n: 1 });
      } finally {
        db.close();
      }
    } finally {
      adult.remove();
      child9.remove();
    }
  });
});
