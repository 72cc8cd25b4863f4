/** Test helpers for the outbox integration tests and the benchmark: the demo RIS (python-hl7) as a child process, waiting, QIDO/WADO. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { waitFor as sharedWaitFor } from '../../test/harness.js';

export interface Ris {
  port: number;
  logFile: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** JSON lines the RIS logged (ack / dropped events). */
  events(): { event: string; control_id?: string; type?: string; status?: string; ack?: string; delivery?: number }[];
}

export async function startRis(port: number, logFile: string, args: string[] = []): Promise<Ris> {
  const proc = spawn('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts', 'demo-ris.py'), '--port', String(port), '--log', logFile, ...args], { stdio: 'ignore' });
  let exited = false;
  proc.on('exit', () => (exited = true));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error('demo RIS exited at start');
    const ok = await new Promise<boolean>((r) => {
      const s = net.createConnection({ port, host: '127.0.0.1' }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('demo RIS did not listen within 20 s');
    await sleep(100);
  }
  return {
    port,
    logFile,
    proc,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
    events() {
      if (!fs.existsSync(logFile)) return [];
      return fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 200) =>
  sharedWaitFor(what, fn, timeoutMs, everyMs);
