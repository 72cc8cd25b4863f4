/**
 * Sign-off with the report, end to end through the HTTP API, nothing mocked: a real Orthanc receives the
 * verified SR (STOW-RS through the outbox) and a local MLLP receiver (ours, recording the raw bytes) gets the
 * ORU. The SR carrying the report text is judged by validate-sr --ai and the ORU by hl7-parse (python-hl7).
 * An addendum gives a corrected ORU (C) and a new SR whose Predecessor Documents Sequence names the signed
 * SR; the signed SR stays in the PACS unchanged. A draft with an AI-suggested line not yet accepted cannot
 * be signed; a signed report cannot be re-saved.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { freePort } from '../../scripts/lib/orthanc.js';
import { HEAD_CT_DIR, SHARED } from '../../scripts/lib/demo-data.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { sampleFindings } from '../../src/core/sr/testing.js';
import { imagePlaneOf } from '../../src/core/sr/readerMeasurements.js';
import { FrameDecoder, frame } from '../mllp/framing.js';
import { buildAck, headerOf } from '../../src/core/hl7/ack.js';
import { acceptLine, draftFromFindings, editLine, pendingAiLines, type ReportDraft } from '../../src/core/report/draft.js';
import type { Finding } from '../../src/core/findings/finding.js';
import { r4Validator } from '../../src/core/fhir/r4-validator.js';

const VALIDATE = path.join(SHARED, 'tools', 'validate-sr');
const HL7_PARSE = path.join(SHARED, 'tools', 'hl7-parse');
const FILE = path.join(HEAD_CT_DIR, '05.dcm');
const SRC = parseDicomPart10(fs.readFileSync(FILE));
const STUDY = String(SRC.StudyInstanceUID);

let stack: Stack;
let rita: Client;
let ris: net.Server;
const received: string[] = [];
let prevPreread: string | undefined;
// A FHIR endpoint we do not own, as far as the gateway knows: it records each POST (content type and body).
let fhirServer: http.Server;
const fhirPosts: { contentType: string; body: any }[] = [];

function validateSr(files: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(VALIDATE, ['--ai', ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }) };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, out: `${err.stdout}\n${err.stderr}` };
  }
}

async function srInstances(): Promise<{ sop: string; orthancId: string }[]> {
  const r = (await (await stack.orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: STUDY, Modality: 'SR' } }) })).json()) as string[];
  const out = [];
  for (const id of r) {
    const tags = (await (await stack.orthanc.rest(`/instances/${id}/simplified-tags`)).json()) as { SOPInstanceUID: string };
    out.push({ sop: tags.SOPInstanceUID, orthancId: id });
  }
  return out;
}

async function srFile(orthancId: string, name: string): Promise<string> {
  const bytes = Buffer.from(await (await stack.orthanc.rest(`/instances/${orthancId}/file`)).arrayBuffer());
  const f = path.join(stack.tmp, `${name}.dcm`);
  fs.writeFileSync(f, bytes);
  return f;
}

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  const fhirPort = await freePort();
  fhirServer = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      fhirPosts.push({ contentType: String(req.headers['content-type']), body: JSON.parse(data) });
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response', entry: [] }));
    });
  });
  await new Promise<void>((r) => fhirServer.listen(fhirPort, '127.0.0.1', () => r()));
  const risPort = await freePort();
  // A RIS we do not own, as far as the gateway knows: it records each ORU as received and acknowledges AA.
  ris = net.createServer((sock) => {
    const dec = new FrameDecoder();
    sock.on('data', (chunk) => {
      for (const msg of dec.push(chunk)) {
        received.push(msg);
        const h = headerOf(msg);
        sock.write(frame(buildAck({ code: 'AA', controlId: h.controlId ?? '', ackControlId: `A${received.length}`, at: new Date().toISOString(), received: h })));
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => ris.listen(risPort, '127.0.0.1', () => r()));
  stack = await startStack({ files: [FILE], config: { fhirUrl: `http://127.0.0.1:${fhirPort}/fhir`, outbox: { risHost: '127.0.0.1', risPort, baseDelayMs: 100, maxDelayMs: 800, pollMs: 100, ackTimeoutMs: 3000 } } });
  rita = await login(stack.baseUrl, 'rita');
  // Two AI findings on the head CT, imported through the one ingestion path (the server stamps source and status).
  const ai = sampleFindings(SRC).filter((f) => f.kind === 'diagnostic').map(({ source: _s, status: _st, ...f }) => f);
  const imp = await rita.post('/api/findings', ai);
  expect(imp.status, await imp.clone().text()).toBe(201);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((r) => (ris ? ris.close(() => r()) : r()));
  await new Promise<void>((r) => (fhirServer ? fhirServer.close(() => r()) : r()));
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

const findings = async () => (await rita.json<{ findings: Finding[] }>(`/api/studies/${STUDY}/findings`)).findings;
const put = (draft: ReportDraft) => rita.fetch(`/api/studies/${STUDY}/report`, { method: 'PUT', body: JSON.stringify({ draft }), headers: { 'content-type': 'application/json' } });

describe('sign-off with the report: SR and ORU F carry it; an addendum gives C and a new SR', () => {
  let signedSop = '';

  it('opening the study is recorded by the server: in progress on every worklist (a technologist\'s too) until sign-off; audited', async () => {
    const [toby, erin, remy] = await Promise.all(['toby', 'erin', 'remy'].map((u) => login(stack.baseUrl, u)));
    const inProgress = async () => (await toby.json<{ studies: { studyUID: string; by: string; since: string }[] }>('/api/reports/in-progress')).studies;
    expect(await inProgress()).toEqual([]);
    // An ER attending looking at the findings is not reading the study.
    expect((await erin.fetch(`/api/studies/${STUDY}/findings`)).status).toBe(200);
    expect(await inProgress()).toEqual([]);
    // A resident opens it (the viewer fetches its findings): in progress for everyone, by the server's record.
    const given = (await remy.json<{ findings: Finding[] }>(`/api/studies/${STUDY}/findings`)).findings.map((f) => f.id).sort();
    expect(given.length).toBeGreaterThan(0);
    expect(await inProgress()).toEqual([expect.objectContaining({ studyUID: STUDY, by: 'remy', since: 'opened' })]);
    // The viewer refreshing the same findings updates the record, not the audit.
    await remy.json(`/api/studies/${STUDY}/findings`);
    await remy.json(`/api/studies/${STUDY}/findings`);
    const audit = await stack.gateway.store.db.selectFrom('audit').select(['actor', 'role', 'detail']).where('action', '=', 'study-opened').where('study_uid', '=', STUDY).orderBy('seq').execute();
    // Server-stamped who; the first open with the AI findings it gave (what governance counts).
    expect(audit.map((a) => [a.actor, a.role, JSON.parse(a.detail ?? '{}').first])).toEqual([['remy', 'resident', true]]);
    // The AI findings the reader was given (after the reader policy for a resident), nothing else.
    expect([...JSON.parse(audit[0].detail ?? '{}').aiFindingIds].sort()).toEqual(given);
  });

  it('a draft from the accepted finding is saved; an AI-suggested line blocks sign-off until accepted or edited', async () => {
    expect((await rita.post('/api/findings/ICH-1/verdict', { action: 'accept' })).status).toBe(200);
    expect((await rita.post('/api/findings/ICH-2/verdict', { action: 'reject', reason: 'false-positive' })).status).toBe(200);
    let draft = draftFromFindings(await findings(), 'head-ct-haemorrhage');
    // Only the accepted finding is drafted, marked as AI-suggested.
    expect(draft.findings.map((l) => [l.findingId, l.origin, l.accepted])).toEqual([['ICH-1', 'ai', false]]);
    expect(draft.findings[0].text).toMatch(/haemorrhage \(Brain\)/);
    expect((await put(draft)).status).toBe(200);
    const refused = await rita.post(`/api/studies/${STUDY}/signoff`, {});
    expect(refused.status).toBe(409);
    expect((await refused.json()).error).toMatch(/AI-suggested/);
    draft = acceptLine(draft, draft.findings[0].id);
    draft = editLine(draft, 'impression', 'Acute intracranial haemorrhage | right frontal. Neurosurgical referral advised.');
    draft = { ...draft, comments: 'No prior for comparison.' };
    expect(pendingAiLines(draft)).toEqual([]);
    expect((await put(draft)).status).toBe(200);
    const saved = await rita.json<{ report: { draft: ReportDraft } }>(`/api/studies/${STUDY}/report`);
    expect(saved.report.draft).toEqual(draft);
    // In progress on every reader's worklist while the draft is unsigned.
    expect((await rita.json<{ studies: { studyUID: string; by: string }[] }>('/api/reports/in-progress')).studies).toEqual([expect.objectContaining({ studyUID: STUDY, by: 'rita' })]);
    // A technologist may not write a report.
    const toby = await login(stack.baseUrl, 'toby');
    expect((await toby.fetch(`/api/studies/${STUDY}/report`, { method: 'PUT', body: JSON.stringify({ draft }), headers: { 'content-type': 'application/json' } })).status).toBe(403);
  });

  it('sign-off while the AI is still reading: 409 naming what is pending (a queued pre-read job, the browser\'s own run) unless confirmed', async () => {
    const db = stack.gateway.store.db;
    const now = new Date().toISOString();
    // The pre-read has this study queued (PREREAD=0 here, so the job stays queued as long as the test needs).
    await db.insertInto('preread_studies').values({ study_uid: STUDY, orthanc_id: 'x', fingerprint: 'fp-1', instance_count: 1, modality: 'CT', arrived_at: now, fingerprint_at: now, routing: '[]', priority: 'none', reason: '', updated_at: now }).execute();
    await db.insertInto('preread_jobs').values({ id: 'job-pending-1', study_uid: STUDY, model: 'ich-detector', model_version: '1.0.0', fingerprint: 'fp-1', payload: '{}', state: 'pending', attempts: 0, next_at: now, created_at: now }).execute();
    const r = await rita.post(`/api/studies/${STUDY}/signoff`, {});
    expect(r.status).toBe(409);
    const body = await r.json();
    expect(body.reason).toBe('ai-pending');
    expect(body.error).toMatch(/AI is still reading this study: ich-detector \(pre-read, queued\)/);
    expect(body.aiPending).toEqual([{ model: 'ich-detector', version: '1.0.0', source: 'pre-read', state: 'pending' }]);
    // The viewer's own run is named too; a malformed report of it is refused.
    const b2 = await (await rita.post(`/api/studies/${STUDY}/signoff`, { browserAi: { model: 'ich-detector', done: 3, total: 28 } })).json();
    expect(b2.aiPending).toContainEqual(expect.objectContaining({ source: 'browser', done: 3, total: 28 }));
    expect((await rita.post(`/api/studies/${STUDY}/signoff`, { browserAi: { model: 'ich-detector', done: -1, total: 28 } })).status).toBe(422);
    expect((await rita.post(`/api/studies/${STUDY}/signoff`, { confirmAiPending: 'yes' })).status).toBe(422);
    const refused = await db.selectFrom('audit').select('detail').where('action', '=', 'study-signoff-needs-confirmation').where('study_uid', '=', STUDY).execute();
    expect(refused.some((a) => (a.detail ?? '').includes('ich-detector'))).toBe(true);
    expect(await db.selectFrom('study_signoffs').select('study_uid').where('study_uid', '=', STUDY).executeTakeFirst()).toBeUndefined();
    // The job finishes: nothing left to confirm.
    await db.updateTable('preread_jobs').set({ state: 'done', finished_at: new Date().toISOString() }).where('id', '=', 'job-pending-1').execute();
  });

  it('sign-off: the verified SR with the report text passes validate-sr --ai; the ORU F with the report lines passes hl7-parse', async () => {
    // The radiologist's measurements (issue 15): a live length, and one deleted before sign-off.
    const plane = imagePlaneOf(SRC)!;
    const [r0, r1, r2] = plane.orientation;
    const p0 = plane.position;
    // 40 columns along the first row (from the centre of pixel (0,0)): 40 × column spacing mm.
    const lengthMm = 40 * plane.spacing[1];
    const p1: [number, number, number] = [p0[0] + lengthMm * r0, p0[1] + lengthMm * r1, p0[2] + lengthMm * r2];
    const measurement = (stats: object) => ({ tool: 'length', seriesInstanceUID: String(SRC.SeriesInstanceUID), sopInstanceUID: String(SRC.SOPInstanceUID), frameNumber: 1, points: [[...p0], p1], stats });
    const putM = (id: string, b: unknown) => rita.fetch(`/api/studies/${STUDY}/measurements/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
    expect((await putM('len-live', measurement({ length: lengthMm, unit: 'mm' }))).status).toBe(201);
    expect((await putM('len-gone', measurement({ length: 77.77, unit: 'mm' }))).status).toBe(201);
    expect((await rita.fetch(`/api/studies/${STUDY}/measurements/len-gone`, { method: 'DELETE' })).status).toBe(204);
    const r = await rita.post(`/api/studies/${STUDY}/signoff`, {});
    expect(r.status, await r.clone().text()).toBe(201);
    stack.gateway.outbox.kick();
    const oruF = await waitFor('ORU F at the RIS', async () => received.find((m) => /\rOBR\|[^\r]*\|F(\||\r)/.test(m) || m.split('\r').some((s) => s.startsWith('OBR') && s.split('|')[25] === 'F')), 60_000);
    const sr = await waitFor('verified SR in the PACS', async () => (await srInstances())[0], 60_000);
    signedSop = sr.sop;
    const file = await srFile(sr.orthancId, 'signed');
    const v = validateSr([file]);
    expect(v.out, v.out).toContain(`RESULT: PASS (${file})`);
    expect(v.code, v.out).toBe(0);
    const ds = parseDicomPart10(fs.readFileSync(file));
    expect(ds.VerificationFlag).toBe('VERIFIED');
    const text = JSON.stringify(ds);
    expect(text).toContain('Qualitative Evaluations');
    expect(text).toContain('Neurosurgical referral advised.');
    expect(text).toContain('No prior for comparison.');
    // The live measurement is a Measurement Group observed by the signing radiologist (person, not the AI
    // device), with the length in mm (UCUM) and its line on the image; the deleted one is not there.
    const dump = execFileSync('dsrdump', ['-Ee', file], { encoding: 'utf8' });
    const groups = dump.split('<contains CONTAINER:(,,"Measurement Group")');
    const group = groups.find((g) => g.includes('"measurement len-live (length)"')) ?? '';
    expect(group, dump).not.toBe('');
    expect(dump).not.toContain('len-gone');
    expect(group).toContain('<has obs context CODE:(,,"Observer Type")=(121006,DCM,"Person")>');
    expect(group).toContain('<has obs context PNAME:(,,"Person Observer Name")="');
    expect(group).not.toContain('Device');
    const num = /<contains NUM:\(,,"Length"\)="([0-9.]+)" \(mm,UCUM,"millimeter"\)>/.exec(group);
    expect(num, group).not.toBeNull();
    expect(Number(num![1])).toBeCloseTo(lengthMm, 3);
    expect(group).toContain('<inferred from SCOORD:(,,"Source of Measurement")=(POLYLINE,0.5/0.5,...)>');
    // ORU F: python-hl7 parses it; the report is there line by line, the impression in its own OBX.
    const hl7File = path.join(stack.tmp, 'oru-f.hl7');
    fs.writeFileSync(hl7File, oruF);
    const out = execFileSync(HL7_PARSE, [hl7File], { encoding: 'utf8' });
    expect(out).toContain('OBR-25 = F');
    expect(out).toContain('OBX-3 = 18782-3^Radiology Study observation (narrative)^LN');
    expect(out).toContain('OBX-5 = FINDINGS:');
    expect(out).toContain('OBX-5 = IMPRESSION:');
    expect(out).toContain('OBX-3 = 19005-8^Radiology Imaging study [Impression] (narrative)^LN');
    expect(out).toMatch(/OBX-5 = Acute intracranial haemorrhage \\F\\ right frontal/);
    // FHIR R4: DiagnosticReport (final) + ImagingStudy + one Observation per reported finding, through the outbox
    // to the configured endpoint; valid against the official R4 definitions.
    const post = await waitFor('FHIR bundle at the endpoint', async () => fhirPosts[0], 60_000);
    expect(post.contentType).toBe('application/fhir+json');
    const validate = await r4Validator();
    expect(validate(post.body)).toEqual([]);
    const res = (t: string) => (post.body.entry as { resource: any }[]).map((e) => e.resource).filter((x) => x.resourceType === t);
    expect(res('DiagnosticReport')[0]).toMatchObject({ status: 'final', conclusion: 'Acute intracranial haemorrhage | right frontal. Neurosurgical referral advised.' });
    expect(res('DiagnosticReport')[0].subject.identifier.value).toBe(String(SRC.PatientID));
    expect(res('ImagingStudy')[0].identifier[0].value).toBe(`urn:oid:${STUDY}`);
    expect(res('Observation').map((o) => [o.code.coding[0].code, o.valueCodeableConcept.coding[0].display]).sort()).toEqual([['1386000', 'Absent'], ['1386000', 'Present']]);
    expect(res('Device')[0].deviceName[0].name).toBe('ich-detector');
    expect(res('Practitioner')[0].identifier[0].value).toBe('rita');
    expect((await rita.json<{ studies: unknown[] }>('/api/reports/in-progress')).studies).toEqual([]);
    // The signed report cannot be saved over.
    expect((await put(draftFromFindings(await findings(), 'generic'))).status).toBe(409);
  }, 300_000);

  it('an addendum: ORU C and a new SR whose predecessor is the signed one; the signed SR is unchanged', async () => {
    const before = fs.readFileSync(path.join(stack.tmp, 'signed.dcm'));
    const r = await rita.post(`/api/studies/${STUDY}/addendum`, { text: 'Small subdural collection along the falx, 3 mm.' });
    expect(r.status, await r.clone().text()).toBe(201);
    stack.gateway.outbox.kick();
    const oruC = await waitFor('ORU C at the RIS', async () => received.find((m) => m.split('\r').some((s) => s.startsWith('OBR') && s.split('|')[25] === 'C')), 60_000);
    const hl7File = path.join(stack.tmp, 'oru-c.hl7');
    fs.writeFileSync(hl7File, oruC);
    const out = execFileSync(HL7_PARSE, [hl7File], { encoding: 'utf8' });
    expect(out).toContain('OBR-25 = C');
    expect(out).toContain('OBX-5 = ADDENDUM:');
    expect(out).toMatch(/Small subdural collection along the falx, 3 mm\./);
    const all = await waitFor('the addendum SR', async () => {
      const x = await srInstances();
      return x.length === 2 ? x : null;
    }, 60_000);
    const signed = all.find((x) => x.sop === signedSop)!;
    const added = all.find((x) => x.sop !== signedSop)!;
    const signedNow = await srFile(signed.orthancId, 'signed-after');
    expect(fs.readFileSync(signedNow).equals(before)).toBe(true);
    const addFile = await srFile(added.orthancId, 'addendum');
    const ds = parseDicomPart10(fs.readFileSync(addFile));
    const pred = (ds.PredecessorDocumentsSequence as { ReferencedSeriesSequence: { ReferencedSOPSequence: { ReferencedSOPInstanceUID: string }[] }[] }[])[0];
    expect(pred.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID).toBe(signedSop);
    expect(JSON.stringify(ds)).toContain('Small subdural collection along the falx, 3 mm.');
    const v = validateSr([addFile]);
    expect(v.out, v.out).toContain(`RESULT: PASS (${addFile})`);
    // FHIR: the corrected report, again valid R4, with the addendum in its text.
    const corrected = await waitFor('corrected FHIR bundle', async () => fhirPosts.find((p) => p.body.entry[0].resource.status === 'corrected'), 60_000);
    expect((await r4Validator())(corrected.body)).toEqual([]);
    expect(Buffer.from(corrected.body.entry[0].resource.presentedForm[0].data, 'base64').toString('utf8')).toContain('Small subdural collection along the falx, 3 mm.');
    const rep = await rita.json<{ addenda: { text: string; addedBy: string }[] }>(`/api/studies/${STUDY}/report`);
    expect(rep.addenda).toEqual([expect.objectContaining({ text: 'Small subdural collection along the falx, 3 mm.', addedBy: 'rita' })]);
  }, 300_000);
});
