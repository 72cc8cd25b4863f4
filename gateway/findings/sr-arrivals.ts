/**
 * AI SRs that arrive in the PACS are read by the SERVER, once, when their series is stable, and go
 * through the one ingestion path (source 'sr'), so the reader policy, triage and the signed record
 * treat them like every other finding. The viewer no longer reads SRs itself.
 *
 * Called from the pre-read change feed for every StableSeries change (one line there). Our own SRs
 * (the AI result SR and the verified SR the outbox stored) are recognised by their SOP Instance UID
 * in the outbox, and, for SRs written before this database existed, by their tracking UIDs, and are
 * not read back as new findings. Every SR instance is recorded in `sr_documents` with its warnings.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { DomainEvents } from '../context.js';
import { appendAudit } from '../audit/audit.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { readMeasurementReport } from '../../src/core/sr/reader.js';
import { trackingUidOf } from '../../src/core/sr/writer.js';
import { orthancGet, type OrthancClient } from '../orthanc/client.js';
import { findingsForStudy } from './repository.js';
import { ingest } from './ingest.js';
import { srReadOptions } from '../objects/geometry.js';
import './migrations.js';
import '../outbox/schema.js';
import { fetchOrthanc } from '../orthanc/http.js';

export interface SrArrivalDeps {
  db: Kysely<DB>;
  orthanc: OrthancClient;
  events?: DomainEvents;
  log?: (msg: string) => void;
}

const ACTOR = 'sr-reader';

/** Everything about one change the feed reports; only StableSeries of modality SR is acted on. */
export async function onSeriesChange(deps: SrArrivalDeps, change: { ChangeType: string; ID: string }): Promise<void> {
  if (change.ChangeType !== 'StableSeries') return;
  try {
    await readSrSeries(deps, change.ID);
  } catch (e) {
    // Never holds up the feed: the series is reported, the next stable change of it reads it again.
    deps.log?.(`sr-reader: series ${change.ID}: ${(e as Error).message}`);
  }
}

interface OrthancSeries {
  MainDicomTags: Record<string, string | undefined>;
  Instances: string[];
  ParentStudy: string;
}

/** Reads every SR instance of one Orthanc series not read before. Returns the SOP UIDs read now. */
export async function readSrSeries(deps: SrArrivalDeps, orthancSeriesId: string): Promise<string[]> {
  const { db, orthanc } = deps;
  let series: OrthancSeries;
  try {
    series = await orthancGet<OrthancSeries>(orthanc, `/series/${orthancSeriesId}`);
  } catch (e) {
    if ((e as { status?: number }).status === 404) return []; // deleted since
    throw e;
  }
  if ((series.MainDicomTags.Modality ?? '').toUpperCase() !== 'SR') return [];
  const seriesUID = series.MainDicomTags.SeriesInstanceUID ?? '';
  const read: string[] = [];
  const instances = await orthancGet<{ ID: string; MainDicomTags: { SOPInstanceUID?: string } }[]>(orthanc, `/series/${orthancSeriesId}/instances`);
  for (const inst of instances) {
    const sop = inst.MainDicomTags.SOPInstanceUID;
    if (!sop) continue;
    if (await db.selectFrom('sr_documents').select('sop_instance_uid').where('sop_instance_uid', '=', sop).executeTakeFirst()) continue;
    await readOne(deps, inst.ID, sop, seriesUID);
    read.push(sop);
  }
  return read;
}

async function record(db: Kysely<DB>, row: { sop: string; study: string; series: string; state: string; findings: number; warnings: string[] }): Promise<void> {
  await db
    .insertInto('sr_documents')
    .values({ sop_instance_uid: row.sop, study_uid: row.study, series_uid: row.series, state: row.state, findings_count: row.findings, warnings: JSON.stringify(row.warnings.slice(0, 200)), read_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('sop_instance_uid').doNothing())
    .execute();
}

async function readOne(deps: SrArrivalDeps, instanceId: string, sop: string, seriesUID: string): Promise<void> {
  const { db, orthanc } = deps;
  // Ours: the outbox stored it (the SOP Instance UID is fixed when the SR is enqueued).
  const ours = await db.selectFrom('outbox').select('study_uid').where('kind', '=', 'sr-stow').where('message_id', '=', sop).executeTakeFirst();
  if (ours) {
    await record(db, { sop, study: ours.study_uid ?? '', series: seriesUID, state: 'own', findings: 0, warnings: [] });
    return;
  }
  const r = await fetchOrthanc(`${orthanc.url}/instances/${instanceId}/file`, { headers: orthanc.auth ? { authorization: orthanc.auth } : {}, signal: AbortSignal.timeout(30_000) });
  if (!r.ok) throw new Error(`Orthanc GET /instances/${instanceId}/file: HTTP ${r.status}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  let result: ReturnType<typeof readMeasurementReport>;
  try {
    const ds = parseDicomPart10(bytes);
    result = readMeasurementReport(ds, await srReadOptions(orthanc, ds));
  } catch (e) {
    const msg = `could not be read: ${(e as Error).message}`.slice(0, 300);
    await record(db, { sop, study: '', series: seriesUID, state: 'unreadable', findings: 0, warnings: [msg] });
    await appendAudit(db, { actor: ACTOR, action: 'sr-unreadable', outcome: 4, detail: { sopInstanceUID: sop, error: msg } });
    return;
  }
  const study = result.document.studyInstanceUID ?? '';
  if (!study || !/^[0-9]+(\.[0-9]+)*$/.test(study) || study.length > 64) {
    await record(db, { sop, study: '', series: seriesUID, state: 'unreadable', findings: 0, warnings: result.warnings });
    return;
  }
  // Ours, written before this database knew it: every group's tracking UID is one our writer derives from a stored finding.
  const known = new Set((await findingsForStudy(db, study)).flatMap((f) => [f.trackingUID, trackingUidOf(study, f.originalId ?? f.id)].filter(Boolean) as string[]));
  if (result.findings.length && result.findings.every((f) => f.trackingUID && known.has(f.trackingUID))) {
    await record(db, { sop, study, series: seriesUID, state: 'own', findings: 0, warnings: [] });
    return;
  }
  const findings = result.findings.map((f) => ({ ...f, id: `sr:${sop}:${f.id}`.slice(0, 128) }));
  await ingest({ db, events: deps.events }, { studyUID: study, source: 'sr', actor: { username: ACTOR }, findings, detail: { sopInstanceUID: sop } });
  await record(db, { sop, study, series: seriesUID, state: 'read', findings: findings.length, warnings: result.warnings });
}

/**
 * SRs that were in the PACS before the gateway read SRs (or while the change feed was off): every SR
 * series Orthanc holds is looked at once per start; instances already recorded are skipped, so a
 * second run reads nothing. Returns the SOP Instance UIDs read.
 */
export async function backfillSrDocuments(deps: SrArrivalDeps, shouldStop: () => boolean = () => false): Promise<string[]> {
  const r = await fetchOrthanc(`${deps.orthanc.url}/tools/find`, {
    method: 'POST',
    body: JSON.stringify({ Level: 'Series', Query: { Modality: 'SR' } }),
    headers: { 'content-type': 'application/json', ...(deps.orthanc.auth ? { authorization: deps.orthanc.auth } : {}) },
    signal: AbortSignal.timeout(30_000),
  });
  if (!r.ok) throw new Error(`Orthanc /tools/find: HTTP ${r.status}`);
  const read: string[] = [];
  for (const id of (await r.json()) as string[]) {
    if (shouldStop()) break;
    try {
      read.push(...(await readSrSeries(deps, id)));
    } catch (e) {
      deps.log?.(`sr-reader: backfill of series ${id}: ${(e as Error).message}`);
    }
  }
  return read;
}

/** The conformance warnings of a study's SR documents, as the server read them (for the viewer). */
export async function srWarningsForStudy(db: Kysely<DB>, studyUID: string): Promise<string[]> {
  const rows = await db.selectFrom('sr_documents').select(['sop_instance_uid', 'warnings']).where('study_uid', '=', studyUID).orderBy('sop_instance_uid').execute();
  return rows.flatMap((r) => (JSON.parse(r.warnings) as string[]).map((w) => `SR ${r.sop_instance_uid.slice(-12)}: ${w}`));
}
