/**
 * Delivery of one outbox message. Each function either resolves (delivered and confirmed) or throws
 * a DeliveryError saying whether a retry can help. The SR and ORU are built here, at delivery time,
 * from the study's metadata in the PACS; their identities (UIDs, control id) come from the payload.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { GatewayConfig } from '../config.js';
import { dcmjs, writeDicomPart10, type Dataset } from '../../src/core/sr/dicom.js';
import { buildMeasurementReport, studyFromDataset, SrInputError, type SrMeasurement } from '../../src/core/sr/writer.js';
import { imagePlaneOf } from '../../src/core/sr/readerMeasurements.js';
import { buildOru } from '../../src/core/hl7/oru.js';
import { parseAck } from '../../src/core/hl7/ack.js';
import { Hl7Error } from '../../src/core/hl7/codec.js';
import { sendMllp } from '../mllp/client.js';
import { dicomWebPath, orthancFetch, type OrthancClient } from '../orthanc/client.js';
import type { FhirPayload, OruPayload, SrPayload, WebhookPayload } from './events.js';
import { buildFhirReportBundle, dicomToIso } from '../../src/core/fhir/diagnosticReport.js';
import type { OutboxSettings } from './settings.js';

export class DeliveryError extends Error {
  constructor(message: string, readonly retry: boolean) {
    super(message);
  }
}

export interface DeliveryContext {
  db: Kysely<DB>;
  config: GatewayConfig;
  settings: OutboxSettings;
  /** THE gateway Orthanc client (ctx.orthanc): credentials, DICOMweb root, timeout. */
  orthanc: OrthancClient;
  /** Study attributes read from the PACS, shared by the deliveries of one worker (see cached). */
  cache?: MetadataCache;
}

/**
 * What the PACS said about an image or a study, for a short while. A sign-off's SR and ORU (and its
 * FHIR bundle, and the addendum after it) all read the same patient and study attributes; without this
 * each message re-read and re-parsed them (bench:outbox: a third of a delivery's time). Only answers that
 * found something are kept (an image not there yet may arrive), and only for ttlMs: a correction made
 * in the PACS reaches the next message after at most that long. Keyed per PACS URL by the caller.
 */
export class MetadataCache {
  private readonly entries = new Map<string, { at: number; value: Promise<Dataset | undefined> }>();
  constructor(readonly ttlMs = 30_000, readonly max = 2_000) {}

  get(key: string, load: () => Promise<Dataset | undefined>, now = Date.now()): Promise<Dataset | undefined> {
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    // One read for concurrent deliveries of the same study; forgotten at once when it fails or finds nothing.
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    value.then(
      (ds) => void (ds === undefined && this.entries.get(key)?.value === value && this.entries.delete(key)),
      () => void (this.entries.get(key)?.value === value && this.entries.delete(key)),
    );
    // Oldest first (insertion order): bounded memory however many studies are signed.
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

function cached(ctx: DeliveryContext, key: string, load: () => Promise<Dataset | undefined>): Promise<Dataset | undefined> {
  return ctx.cache ? ctx.cache.get(key, load) : load();
}

/** A DICOMweb call to the PACS; unreachable (or timed out) is a DeliveryError a retry can help. */
function dicomWeb(o: OrthancClient, pathname: string, init: RequestInit = {}): Promise<Response> {
  return orthancFetch(o, dicomWebPath(o, pathname), init).catch((e: Error) => {
    throw new DeliveryError(`PACS unreachable: ${(e.cause as Error | undefined)?.message ?? e.message}`, true);
  });
}

/** DICOM JSON metadata of one instance, naturalized. */
async function instanceMetadata(ctx: DeliveryContext, study: string, series: string, sop: string): Promise<Dataset | undefined> {
  return cached(ctx, `i/${sop}`, () => readInstanceMetadata(ctx, study, series, sop));
}

async function readInstanceMetadata(ctx: DeliveryContext, study: string, series: string, sop: string): Promise<Dataset | undefined> {
  const r = await dicomWeb(ctx.orthanc, `/studies/${study}/series/${series}/instances/${sop}/metadata`, { headers: { accept: 'application/dicom+json' } });
  if (r.status === 404 || r.status === 204) return undefined;
  if (!r.ok) throw new DeliveryError(`PACS metadata ${r.status}`, r.status >= 500 || r.status === 429);
  const json = (await r.json()) as object[];
  if (!json.length) return undefined;
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(json[0]);
}

/** Study-level attributes from any instance of the study (QIDO), when a finding names none we can read. */
async function anyInstance(ctx: DeliveryContext, study: string): Promise<Dataset | undefined> {
  return cached(ctx, `s/${study}`, () => readAnyInstance(ctx, study));
}

async function readAnyInstance(ctx: DeliveryContext, study: string): Promise<Dataset | undefined> {
  const r = await dicomWeb(ctx.orthanc, `/studies/${study}/instances?limit=1&includefield=all`, { headers: { accept: 'application/dicom+json' } });
  if (r.status === 404 || r.status === 204) return undefined;
  if (!r.ok) throw new DeliveryError(`PACS QIDO ${r.status}`, r.status >= 500);
  const json = (await r.json()) as object[];
  return json.length ? dcmjs.data.DicomMetaDictionary.naturalizeDataset(json[0]) : undefined;
}

async function sourceOf(ctx: DeliveryContext, p: { studyInstanceUID: string; findings: SrPayload['findings'] }): Promise<{ src: Dataset; sopClasses: Record<string, string> }> {
  const sopClasses: Record<string, string> = {};
  let src: Dataset | undefined;
  const seen = new Set<string>();
  for (const f of p.findings) {
    for (const r of f.regions) {
      if (seen.has(r.image.sopInstanceUID)) continue;
      seen.add(r.image.sopInstanceUID);
      if (r.image.sopClassUID && src) continue;
      const md = await instanceMetadata(ctx, p.studyInstanceUID, r.image.seriesInstanceUID, r.image.sopInstanceUID);
      if (!md) throw new DeliveryError(`referenced image ${r.image.sopInstanceUID} is not in the PACS (yet)`, true);
      src ??= md;
      sopClasses[r.image.sopInstanceUID] = String(md.SOPClassUID);
    }
  }
  src ??= await anyInstance(ctx, p.studyInstanceUID);
  if (!src) throw new DeliveryError(`study ${p.studyInstanceUID} is not in the PACS (yet)`, true);
  return { src, sopClasses };
}

/** The radiologist's measurements with their images' SOP Class and plane (for SCOORD), read from the PACS. */
async function measurementsOf(ctx: DeliveryContext, p: SrPayload): Promise<SrMeasurement[]> {
  const metadata = new Map<string, Dataset>();
  const out: SrMeasurement[] = [];
  for (const m of p.measurements ?? []) {
    let md = metadata.get(m.sopInstanceUID);
    if (!md) {
      md = await instanceMetadata(ctx, p.studyInstanceUID, m.seriesInstanceUID, m.sopInstanceUID);
      if (!md) throw new DeliveryError(`measured image ${m.sopInstanceUID} (measurement ${m.id}) is not in the PACS (yet)`, true);
      metadata.set(m.sopInstanceUID, md);
    }
    const plane = imagePlaneOf(md, m.frameNumber);
    out.push({ measurement: m, sopClassUID: String(md.SOPClassUID), ...(plane ? { plane } : {}) });
  }
  return out;
}

function multipart(dicom: Uint8Array): { body: Buffer; contentType: string } {
  const boundary = `rs-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, Buffer.from(dicom), tail]), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** Whether the PACS holds the SR now (never cached: it is the question the retry asks). */
const srStored = async (ctx: DeliveryContext, p: SrPayload) => (await readInstanceMetadata(ctx, p.studyInstanceUID, p.seriesInstanceUID, p.sopInstanceUID)) !== undefined;

export async function deliverSr(ctx: DeliveryContext, p: SrPayload, attempts = 2): Promise<string> {
  // Already stored (a previous try whose response was lost): success, nothing stored twice. The first
  // try has no previous one (the claim counts attempts before the try), so it skips this round trip.
  if (attempts > 1 && (await srStored(ctx, p))) return 'already stored';
  const { src, sopClasses } = await sourceOf(ctx, p);
  const measurements = p.kind === 'verified' ? await measurementsOf(ctx, p) : [];
  let ds: Dataset;
  try {
    ds = buildMeasurementReport({
      kind: p.kind,
      findings: p.findings,
      study: studyFromDataset(src),
      model: p.model,
      sopInstanceUID: p.sopInstanceUID,
      seriesInstanceUID: p.seriesInstanceUID,
      contentDateTime: p.contentDateTime,
      sopClassUIDs: sopClasses,
      institutionName: ctx.settings.institution,
      ...(p.signer ? { signer: { name: p.signer.name, organization: ctx.settings.institution, at: p.signer.at } } : {}),
      ...(p.predecessor ? { predecessor: p.predecessor } : {}),
      ...(p.report ? { report: p.report } : {}),
      ...(measurements.length ? { measurements } : {}),
    });
  } catch (e) {
    if (e instanceof SrInputError) throw new DeliveryError(`SR not buildable: ${e.message}`, false);
    throw e;
  }
  const { body, contentType } = multipart(writeDicomPart10(ds));
  const r = await dicomWeb(ctx.orthanc, `/studies`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType, accept: 'application/dicom+json' } });
  const text = await r.text();
  if (r.ok) {
    // STOW-RS answers 200 with a FailedSOPSequence (00081198) when an instance was refused.
    if (text.includes('"00081198"') && !text.includes(p.sopInstanceUID.slice(-10))) throw new DeliveryError('STOW-RS refused the SR (FailedSOPSequence)', false);
    return `stored (${r.status})`;
  }
  if (await srStored(ctx, p)) return 'already stored';
  throw new DeliveryError(`STOW-RS ${r.status}`, r.status >= 500 || r.status === 429 || r.status === 409);
}

export async function deliverOru(ctx: DeliveryContext, p: OruPayload, attempts: number): Promise<string> {
  const { risHost, risPort } = ctx.settings;
  if (!risHost || !risPort) throw new DeliveryError('no RIS configured (RIS_HOST/RIS_PORT)', true);
  // Patient and accession from the study in the PACS (a QIDO; the PACS must be up, as for the SR).
  const src = await anyInstance(ctx, p.studyInstanceUID);
  const study = src ? studyFromDataset(src) : undefined;
  const order =
    (await ctx.db.selectFrom('hl7_orders').selectAll().where('study_uid', '=', p.studyInstanceUID).orderBy('received_at', 'desc').executeTakeFirst()) ??
    (study?.AccessionNumber ? await ctx.db.selectFrom('hl7_orders').selectAll().where('accession', '=', study.AccessionNumber).executeTakeFirst() : undefined);
  // OBR-3 must name the order; without any accession the Study Instance UID stands in (see docs/conformance.md).
  const accession = study?.AccessionNumber || order?.accession || p.studyInstanceUID;
  let text: string;
  try {
    text = buildOru({
      controlId: p.controlId,
      at: p.at,
      status: p.status,
      accession,
      studyInstanceUID: p.studyInstanceUID,
      ...(order?.placer_order ? { placerOrderNumber: order.placer_order } : {}),
      ...(order?.procedure_code ? { procedure: { value: order.procedure_code, meaning: order.procedure_text || order.procedure_code, scheme: 'L' } } : {}),
      patient: { id: study?.PatientID || order?.patient_id || 'UNKNOWN', name: study?.PatientName, birthDate: study?.PatientBirthDate, sex: study?.PatientSex },
      findings: p.findings,
      model: p.model,
      ...(p.priority ? { priority: p.priority } : {}),
      ...(p.signer ? { signer: p.signer } : {}),
      ...(p.reportText ? { reportText: p.reportText } : {}),
      ...(p.impression ? { impression: p.impression } : {}),
    });
  } catch (e) {
    if (e instanceof Hl7Error) throw new DeliveryError(`ORU not buildable: ${e.message}`, false);
    throw e;
  }
  let ackText: string;
  try {
    ackText = await sendMllp({ host: risHost, port: risPort, timeoutMs: ctx.settings.ackTimeoutMs }, text);
  } catch (e) {
    throw new DeliveryError(`RIS: ${(e as Error).message}`, true);
  }
  let ack;
  try {
    ack = parseAck(ackText);
  } catch (e) {
    throw new DeliveryError(`RIS answered something that is not an ACK: ${(e as Error).message}`, true);
  }
  if (ack.controlId !== p.controlId) throw new DeliveryError(`ACK for ${ack.controlId.slice(0, 40).replace(/[^A-Za-z0-9._-]/g, '?')}, not for ${p.controlId} (MSA-2 must equal MSH-10)`, true);
  if (ack.code === 'AA' || ack.code === 'CA') return `ACK ${ack.code}`;
  // The error as position and code only. The RIS's own words (MSA-3, ERR-8) are not kept in the outbox:
  // a receiver may quote the patient's name or other field content back.
  const why = [ack.errorCode ? `HL7 error ${ack.errorCode}` : '', ack.errorLocation ? `at ${ack.errorLocation}` : ''].filter(Boolean).join(' ') || 'no error code given';
  if (ack.code === 'AR' || ack.code === 'CR') throw new DeliveryError(`RIS rejected (${ack.code}): ${why}`, false);
  // AE/CE: the receiver had an application error; retry a configured number of times.
  throw new DeliveryError(`RIS error (${ack.code}): ${why}`, attempts <= ctx.settings.aeRetries);
}

/** The FHIR results bundle of a sign-off: patient and study attributes from the PACS (a QIDO), as for the ORU. */
async function fhirBundle(ctx: DeliveryContext, f: FhirPayload): Promise<unknown> {
  const src = await anyInstance(ctx, f.studyInstanceUID);
  if (!src) throw new DeliveryError(`study ${f.studyInstanceUID} is not in the PACS (yet)`, true);
  const st = studyFromDataset(src);
  const q = await dicomWeb(ctx.orthanc, `/studies?StudyInstanceUID=${f.studyInstanceUID}&includefield=00080061&includefield=00201206&includefield=00201208`, { headers: { accept: 'application/dicom+json' } });
  const qs = q.ok && q.status !== 204 ? ((await q.json()) as Record<string, { Value?: unknown[] }>[])[0] : undefined;
  const modalities = (qs?.['00080061']?.Value ?? [st.Modality ?? '']).map(String).filter(Boolean);
  return buildFhirReportBundle({
    study: {
      studyInstanceUID: f.studyInstanceUID,
      patientId: st.PatientID || 'UNKNOWN',
      ...(typeof src.IssuerOfPatientID === 'string' && /^[0-9.]+$/.test(src.IssuerOfPatientID) ? { patientIdIssuer: src.IssuerOfPatientID } : {}),
      ...(st.PatientName ? { patientName: st.PatientName } : {}),
      ...(st.AccessionNumber ? { accession: st.AccessionNumber } : {}),
      ...(st.StudyDescription ? { description: st.StudyDescription } : {}),
      ...(dicomToIso(st.StudyDate, st.StudyTime) ? { started: dicomToIso(st.StudyDate, st.StudyTime) } : {}),
      modalities,
      ...(Number(qs?.['00201206']?.Value?.[0]) > 0 ? { numberOfSeries: Number(qs?.['00201206']?.Value?.[0]) } : {}),
      ...(Number(qs?.['00201208']?.Value?.[0]) > 0 ? { numberOfInstances: Number(qs?.['00201208']?.Value?.[0]) } : {}),
    },
    findings: f.findings,
    model: f.model,
    reader: f.reader,
    signedAt: f.signedAt,
    status: f.status,
    ...(f.reportText ? { reportText: f.reportText } : {}),
    ...(f.impression ? { impression: f.impression } : {}),
    ids: f.ids,
  });
}

export async function deliverWebhook(ctx: DeliveryContext, p: WebhookPayload): Promise<string> {
  const body = p.fhir ? await fhirBundle(ctx, p.fhir) : p.body;
  let r: Response;
  try {
    r = await fetch(p.url, {
      method: 'POST',
      headers: { 'content-type': p.fhir ? 'application/fhir+json' : 'application/json', 'idempotency-key': p.idempotencyKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new DeliveryError(`webhook unreachable: ${(e as Error).message}`, true);
  }
  if (r.ok) return `HTTP ${r.status}`;
  throw new DeliveryError(`webhook HTTP ${r.status}`, r.status >= 500 || r.status === 408 || r.status === 429);
}
