/**
 * Outbox end to end, nothing mocked: a real Orthanc (STOW-RS, QIDO-RS, WADO), the demo RIS built on
 * python-hl7's MLLP server, and the gateway's worker. Outages are real: processes stopped and restarted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startStack, login, type Stack } from '../../test/harness.js';
import { freePort, startOrthanc } from '../../scripts/lib/orthanc.js';
import { CHEST_CR, HEAD_CT_DIR, mrSeriesFiles } from '../../scripts/lib/demo-data.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { readMeasurementReport } from '../../src/core/sr/reader.js';
import { sampleFindings, reviewedFindings, DEMO_MODEL } from '../../src/core/sr/testing.js';
import type { SessionUser } from '../../src/core/auth/roles.js';
import { onAiResultReady, onStudySignedOff } from './events.js';
import { startRis, waitFor, type Ris } from './testkit.js';

const RITA: SessionUser = { id: 1, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' };
const FILES = [path.join(HEAD_CT_DIR, '05.dcm'), CHEST_CR, mrSeriesFiles()[0]];
const SOURCES = FILES.map((f) => parseDicomPart10(fs.readFileSync(f)));
const studyOf = (i: number) => String(SOURCES[i].StudyInstanceUID);

let stack: Stack;
let ris: Ris;
let risPort: number;
let prevPreread: string | undefined;

async function statuses(study?: string) {
  let q = stack.gateway.store.db.selectFrom('outbox').selectAll();
  if (study) q = q.where('study_uid', '=', study);
  return q.orderBy('id').execute();
}
const allAcknowledged = async (n: number) => {
  const rows = await statuses();
  return rows.length === n && rows.every((r) => r.status === 'acknowledged') ? rows : undefined;
};
async function srSeries(study: string): Promise<{ series: string; instances: string[] }[]> {
  const r = await stack.orthanc.rest(`/dicom-web/studies/${study}/series?Modality=SR`, { headers: { accept: 'application/dicom+json' } });
  if (r.status === 204) return [];
  const series = ((await r.json()) as Record<string, { Value: string[] }>[]).map((s) => s['0020000E'].Value[0]);
  const out = [];
  for (const s of series) {
    const ri = await stack.orthanc.rest(`/dicom-web/studies/${study}/series/${s}/instances`, { headers: { accept: 'application/dicom+json' } });
    out.push({ series: s, instances: ((await ri.json()) as Record<string, { Value: string[] }>[]).map((i) => i['00080018'].Value[0]) });
  }
  return out;
}
const kick = () => stack.gateway.outbox.kick();

async function signOff(i: number, signedAt: string) {
  const reviewed = reviewedFindings(sampleFindings(SOURCES[i]));
  await stack.gateway.store.db.transaction().execute((trx) => onStudySignedOff(trx, { studyInstanceUID: studyOf(i), findings: reviewed, user: RITA, signedAt }));
  kick();
}

beforeAll(async () => {
  // The pre-read service (issue 5) would add its own AI results to these studies; this test counts only its own messages.
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  risPort = await freePort();
  stack = await startStack({
    files: FILES,
    config: { outbox: { risHost: '127.0.0.1', risPort, baseDelayMs: 100, maxDelayMs: 800, pollMs: 100, ackTimeoutMs: 1500, aeRetries: 2, concurrency: 2 } },
  });
  ris = await startRis(risPort, path.join(stack.tmp, 'ris.log'));
});
afterAll(async () => {
  await ris?.stop();
  // stack.stop() stops the Orthanc it started; a restarted one is ours to stop.
  await stack?.orthanc.stop();
  await stack?.stop();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('outbox: SR to the PACS and ORU to the RIS', () => {
  it('AI result then sign-off: both SRs stored as their own series (QIDO), the verified one read back through WADO; P then F acknowledged once each', async () => {
    const study = studyOf(0);
    const ai = sampleFindings(SOURCES[0]);
    await stack.gateway.store.db.transaction().execute((trx) => onAiResultReady(trx, { studyInstanceUID: study, findings: ai, model: DEMO_MODEL, priority: 'critical' }));
    // The same event twice is stored once (dedupe key), so it is also sent once.
    await stack.gateway.store.db.transaction().execute((trx) => onAiResultReady(trx, { studyInstanceUID: study, findings: ai, model: DEMO_MODEL, priority: 'critical' }));
    kick();
    await signOff(0, '2026-11-25T10:05:00.000Z');
    const rows = await waitFor('4 acknowledged', () => allAcknowledged(4), 90_000);
    expect(rows.map((r) => r.kind).sort()).toEqual(['hl7-oru', 'hl7-oru', 'sr-stow', 'sr-stow']);

    const series = await srSeries(study);
    expect(series).toHaveLength(2);
    for (const s of series) expect(s.instances).toHaveLength(1);
    const srRows = rows.filter((r) => r.kind === 'sr-stow').map((r) => JSON.parse(r.payload));
    const verified = srRows.find((p) => p.kind === 'verified');
    const aiSr = srRows.find((p) => p.kind === 'ai');
    const wado = await stack.orthanc.rest(`/wado?requestType=WADO&studyUID=${study}&seriesUID=${verified.seriesInstanceUID}&objectUID=${verified.sopInstanceUID}&contentType=application/dicom`);
    expect(wado.status).toBe(200);
    const read = readMeasurementReport(parseDicomPart10(new Uint8Array(await wado.arrayBuffer())));
    expect(read.document.verificationFlag).toBe('VERIFIED');
    expect(read.document.predecessorSopInstanceUIDs).toEqual([aiSr.sopInstanceUID]);
    expect(read.findings.map((f) => [f.id, f.status])).toEqual([['ICH-1', 'rejected'], ['ICH-1-m', 'modified'], ['ICH-2', 'rejected'], ['Q-1', 'accepted']]);

    const acks = ris.events().filter((e) => e.event === 'ack');
    expect(acks.map((e) => e.status)).toEqual(['P', 'F']);
    expect(acks.every((e) => e.ack === 'AA' && e.delivery === 1)).toBe(true);
    const oruIds = rows.filter((r) => r.kind === 'hl7-oru').map((r) => r.message_id);
    expect(acks.map((e) => e.control_id).sort()).toEqual([...oruIds].sort());

    // Every delivery is in the audit trail: SR stored ×2, HL7 sent and acknowledged ×2, for this study.
    const audit = await stack.gateway.store.db.selectFrom('audit').select(['action', 'actor']).where('study_uid', '=', study).execute();
    const count = (a: string) => audit.filter((r) => r.action === a && r.actor === 'gateway-outbox').length;
    expect([count('sr-stored'), count('hl7-sent'), count('hl7-acknowledged')]).toEqual([2, 2, 2]);
  });

  it('a second sign-off of the same study sends a corrected ORU (C) and a new verified SR superseding the first', async () => {
    const study = studyOf(0);
    await signOff(0, '2026-11-25T11:00:00.000Z');
    await waitFor('6 acknowledged', () => allAcknowledged(6), 90_000);
    const acks = ris.events().filter((e) => e.event === 'ack');
    expect(acks.map((e) => e.status)).toEqual(['P', 'F', 'C']);
    expect(await srSeries(study)).toHaveLength(3);
  });

  it('admin sees statuses; others may not; orders API needs a key', async () => {
    const ada = await login(stack.baseUrl, 'ada');
    const list = await ada.json<{ items: { status: string }[]; counts: Record<string, number> }>('/api/admin/outbox');
    expect(list.counts.acknowledged).toBe(6);
    const rita = await login(stack.baseUrl, 'rita');
    expect((await rita.fetch('/api/admin/outbox')).status).toBe(403);
    expect((await ada.post('/api/admin/outbox/1/retry', {})).status).toBe(409);
    expect((await rita.fetch('/api/orders')).status).toBe(400);
  });

  it('PACS down: three sign-offs queue, and after Orthanc restarts exactly three verified SRs are stored', async () => {
    const { httpPort, dicomPort, dataDir } = stack.orthanc;
    await stack.orthanc.stop();
    const before = (await statuses()).length;
    for (const i of [0, 1, 2]) await signOff(i, `2026-11-25T12:0${i}:00.000Z`);
    await waitFor('failed tries while the PACS is down', async () => {
      const srs = (await statuses()).slice(before).filter((r) => r.kind === 'sr-stow');
      return srs.length === 3 && srs.every((r) => r.status === 'failed' && r.attempts >= 2 && /PACS unreachable/.test(r.last_error ?? ''));
    }, 30_000);
    stack.orthanc = await startOrthanc({ dataDir, httpPort, dicomPort, stableAge: 1 });
    await waitFor('all acknowledged after the PACS returns', () => allAcknowledged(before + 6), 120_000);
    const newSr = (await statuses()).slice(before).filter((r) => r.kind === 'sr-stow').map((r) => JSON.parse(r.payload));
    for (const p of newSr) {
      const series = (await srSeries(p.studyInstanceUID)).filter((s) => s.series === p.seriesInstanceUID);
      expect(series).toHaveLength(1);
      expect(series[0].instances).toEqual([p.sopInstanceUID]);
    }
    // 2 from the first tests on study 0 + 1 corrected + 1 now; studies 1 and 2: exactly one each.
    expect((await srSeries(studyOf(0))).length).toBe(4);
    expect((await srSeries(studyOf(1))).length).toBe(1);
    expect((await srSeries(studyOf(2))).length).toBe(1);
  });

  it('RIS down: ORUs queue, are delivered when it returns, each acknowledged exactly once', async () => {
    await ris.stop();
    const before = (await statuses()).length;
    for (const i of [1, 2]) await signOff(i, `2026-11-25T13:0${i}:00.000Z`);
    await waitFor('ORUs failing while the RIS is down', async () => {
      const orus = (await statuses()).slice(before).filter((r) => r.kind === 'hl7-oru');
      return orus.length === 2 && orus.every((r) => r.status === 'failed' && /RIS/.test(r.last_error ?? ''));
    }, 30_000);
    ris = await startRis(risPort, ris.logFile);
    const rows = await waitFor('all acknowledged after the RIS returns', () => allAcknowledged(before + 4), 60_000);
    const ids = rows.slice(before).filter((r) => r.kind === 'hl7-oru').map((r) => r.message_id);
    const acks = ris.events().filter((e) => e.event === 'ack');
    for (const id of ids) expect(acks.filter((e) => e.control_id === id)).toHaveLength(1);
    // every control id the RIS ever acknowledged, once
    const counts = new Map<string, number>();
    for (const a of acks) counts.set(a.control_id!, (counts.get(a.control_id!) ?? 0) + 1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('no ACK: resent with the same control id; AE retried then AA; AR dead-lettered with the reason', async () => {
    await ris.stop();
    ris = await startRis(risPort, ris.logFile, ['--drop-first', '1', '--ae-first', '0']);
    let before = (await statuses()).length;
    await signOff(1, '2026-11-25T14:00:00.000Z');
    await waitFor('acknowledged after a dropped ACK', () => allAcknowledged(before + 2), 60_000);
    const oru = (await statuses()).slice(before).find((r) => r.kind === 'hl7-oru')!;
    const seen = ris.events().filter((e) => e.control_id === oru.message_id);
    expect(seen.map((e) => e.event)).toEqual(['dropped', 'ack']);
    expect(oru.attempts).toBe(2);

    await ris.stop();
    ris = await startRis(risPort, ris.logFile, ['--ae-first', '2']);
    before = (await statuses()).length;
    await signOff(2, '2026-11-25T14:10:00.000Z');
    await waitFor('acknowledged after two AE', () => allAcknowledged(before + 2), 60_000);
    const oru2 = (await statuses()).slice(before).find((r) => r.kind === 'hl7-oru')!;
    expect(ris.events().filter((e) => e.control_id === oru2.message_id).map((e) => e.ack)).toEqual(['AE', 'AE', 'AA']);

    await ris.stop();
    ris = await startRis(risPort, ris.logFile, ['--mode', 'ar']);
    before = (await statuses()).length;
    await signOff(2, '2026-11-25T14:20:00.000Z');
    const dead = await waitFor('AR dead-lettered', async () => (await statuses()).slice(before).find((r) => r.kind === 'hl7-oru' && r.status === 'dead'), 60_000);
    expect(dead.last_error).toBe('RIS rejected (AR): no error code given');
    expect(dead.last_error).not.toMatch(/demo RIS answers/); // the RIS's free text (it may quote the patient) is not kept
    expect(dead.attempts).toBe(1);

    // An admin retries it once the RIS is fixed.
    await ris.stop();
    ris = await startRis(risPort, ris.logFile);
    const ada = await login(stack.baseUrl, 'ada');
    expect((await ada.post(`/api/admin/outbox/${dead.id}/retry`, {})).status).toBe(200);
    await waitFor('retried message acknowledged', async () => (await statuses()).find((r) => r.id === dead.id && r.status === 'acknowledged'), 30_000);
  });
});
