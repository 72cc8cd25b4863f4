/**
 * kill -9 between send and acknowledgement. The gateway runs as a child process (gateway/main.ts).
 * A pass-through proxy in front of the real Orthanc forwards the STOW-RS but holds its answer, and
 * the demo RIS (python-hl7) reads the ORU but holds back its ACK: both messages are out, neither is
 * acknowledged, when the gateway is killed. On restart delivery completes: the SR is not stored twice
 * and the ORU is resent with the same control id.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startOrthanc, uploadFiles, freePort, type OrthancHandle } from '../../scripts/lib/orthanc.js';
import { HEAD_CT_DIR, REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { openStore, type Store } from '../db/database.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { sampleFindings, reviewedFindings } from '../../src/core/sr/testing.js';
import { onStudySignedOff } from './events.js';
import { startRis, waitFor, type Ris } from './testkit.js';

const CT = path.join(HEAD_CT_DIR, '05.dcm');
const SRC = parseDicomPart10(fs.readFileSync(CT));
const STUDY = String(SRC.StudyInstanceUID);

let tmp: string;
let orthanc: OrthancHandle;
let ris: Ris | undefined;
let risPort: number;
let proxy: http.Server;
let proxyPort: number;
let holdStow = true;
let stowForwarded = 0;
const held: http.ServerResponse[] = [];
let child: ChildProcess | undefined;

function startProxy(): Promise<void> {
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
        const up = await fetch(orthanc.url + req.url, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
        const body = Buffer.from(await up.arrayBuffer());
        const isStow = req.method === 'POST' && req.url?.endsWith('/studies');
        if (isStow) stowForwarded++;
        if (isStow && holdStow) {
          held.push(res); // stored in Orthanc, answer never reaches the gateway
          return;
        }
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(body);
      } catch (e) {
        res.writeHead(502);
        res.end(String(e));
      }
    });
  });
  return new Promise((r) => proxy.listen(proxyPort, '127.0.0.1', () => r()));
}

function startGateway(dbFile: string, ackTimeoutMs: number): Promise<ChildProcess> {
  const env = {
    ...process.env,
    GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', ORTHANC_URL: `http://127.0.0.1:${proxyPort}`, ORTHANC_USER: orthanc.user, ORTHANC_PASSWORD: orthanc.password,
    DATABASE: dbFile, STATIC_DIR: '', MODELS_DIR: path.join(REPO_ROOT, 'models'), DEMO: '1', LOG: '0',
    RIS_HOST: '127.0.0.1', RIS_PORT: String(risPort), HL7_ACK_TIMEOUT_MS: String(ackTimeoutMs), OUTBOX_POLL_MS: '100', OUTBOX_BASE_DELAY_MS: '100', OUTBOX_MAX_DELAY_MS: '500', MLLP_PORT: '', PREREAD: '0',
  };
  const c = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'gateway', 'main.ts')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let err = '';
  c.stderr?.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gateway did not start: ${err.slice(-2000)}`)), 120_000);
    c.on('message', (m: { ready?: boolean }) => m.ready && (clearTimeout(t), resolve(c)));
    c.on('exit', (code) => (clearTimeout(t), reject(new Error(`gateway exited ${code}: ${err.slice(-2000)}`))));
  });
}

async function srInstances(): Promise<string[]> {
  const r = await orthanc.rest(`/dicom-web/studies/${STUDY}/instances?Modality=SR`, { headers: { accept: 'application/dicom+json' } });
  if (r.status === 204) return [];
  return ((await r.json()) as Record<string, { Value: string[] }>[]).map((i) => i['00080018'].Value[0]);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-crash-'));
  orthanc = await startOrthanc({ dataDir: path.join(tmp, 'orthanc'), stableAge: 1 });
  await uploadFiles(orthanc, [CT]);
  risPort = await freePort();
  proxyPort = await freePort();
  await startProxy();
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  for (const r of held) r.destroy();
  // beforeAll may have failed before the proxy existed: a close() never called never calls back.
  if (proxy?.listening) await new Promise<void>((r) => proxy.close(() => r()));
  await ris?.stop();
  await orthanc?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('kill -9 between send and acknowledgement', () => {
  it('on restart, delivery completes: one SR in Orthanc, the ORU resent with the same control id and acknowledged once', async () => {
    const dbFile = path.join(tmp, 'gateway.sqlite');
    ris = await startRis(risPort, path.join(tmp, 'ris.log'), ['--mode', 'drop']);
    child = await startGateway(dbFile, 120_000);

    // The sign-off is written to the gateway's database by this test process, in one transaction (WAL: concurrent access is fine).
    const store: Store = await openStore(dbFile);
    try {
      await store.db.transaction().execute((trx) =>
        onStudySignedOff(trx, { studyInstanceUID: STUDY, findings: reviewedFindings(sampleFindings(SRC)), user: { id: 1, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' }, signedAt: '2026-11-25T10:05:00.000Z' }),
      );
      const rows = await store.db.selectFrom('outbox').selectAll().orderBy('id').execute();
      const sr = rows.find((r) => r.kind === 'sr-stow')!;
      const oru = rows.find((r) => r.kind === 'hl7-oru')!;

      // Both out, neither acknowledged.
      await waitFor('SR stored in Orthanc, answer held', async () => stowForwarded === 1 && (await srInstances()).length === 1, 60_000);
      await waitFor('ORU read by the RIS, ACK held', async () => ris!.events().some((e) => e.event === 'dropped' && e.control_id === oru.message_id), 60_000);
      const mid = await store.db.selectFrom('outbox').select(['id', 'status']).orderBy('id').execute();
      expect(mid.map((r) => r.status)).toEqual(['sent', 'sent']);

      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));

      // Back up: the PACS answers normally, the RIS acknowledges.
      holdStow = false;
      await ris.stop();
      ris = await startRis(risPort, path.join(tmp, 'ris.log'));
      child = await startGateway(dbFile, 5_000);

      await waitFor('both acknowledged after restart', async () => {
        const r = await store.db.selectFrom('outbox').select(['status']).execute();
        return r.length === 2 && r.every((x) => x.status === 'acknowledged');
      }, 90_000);
      const done = await store.db.selectFrom('outbox').selectAll().orderBy('id').execute();
      expect(done.find((r) => r.id === sr.id)!.last_error).toBe('already stored');
      expect(await srInstances()).toEqual([sr.message_id]);
      const events = ris.events().filter((e) => e.control_id === oru.message_id);
      expect(events.map((e) => [e.event, e.ack ?? null])).toEqual([['dropped', null], ['ack', 'AA']]);
    } finally {
      await store.close();
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child!.once('exit', r));
      }
    }
  });
});
