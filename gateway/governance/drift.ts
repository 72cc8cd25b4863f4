/**
 * Drift inputs: for each study a model read, its scanner (Manufacturer + ManufacturerModelName) and
 * slice thickness, read once from the PACS (one image of its first image series, DICOMweb metadata) and
 * kept in governance_inputs; the drift itself is pure (src/core/governance/drift.ts).
 * Intensity histograms are not collected yet (they need the pixels: the pre-read worker would record them).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { OrthancClient } from '../orthanc/client.js';
import { dicomWeb } from './assessments.js';
import { dcmjs } from '../../src/core/sr/dicom.js';
import { computeDrift, type DriftRow, type StudyInput } from '../../src/core/governance/drift.js';
import type { GovernanceHistory } from '../../src/core/governance/figures.js';
import './migrations.js';

const NON_IMAGE = new Set(['SR', 'PR', 'KO', 'SEG', 'RTSTRUCT', 'DOC', 'OT']);

async function qido(orthanc: OrthancClient, pathname: string): Promise<Record<string, unknown>[]> {
  return ((await dicomWeb(orthanc, pathname)) ?? []).map((j) => dcmjs.data.DicomMetaDictionary.naturalizeDataset(j) as Record<string, unknown>);
}

/** Scanner and slice thickness of a study, from one image of its first image series; null when it has none. */
export async function readStudyInput(orthanc: OrthancClient, studyUID: string): Promise<{ scanner: string | null; sliceThickness: number | null } | null> {
  const series = (await qido(orthanc, `/studies/${studyUID}/series`)).filter((s) => !NON_IMAGE.has(String(s.Modality ?? '')));
  for (const s of series) {
    const [inst] = await qido(orthanc, `/studies/${studyUID}/series/${s.SeriesInstanceUID}/instances?limit=1`);
    if (!inst) continue;
    const [md] = await qido(orthanc, `/studies/${studyUID}/series/${s.SeriesInstanceUID}/instances/${inst.SOPInstanceUID}/metadata`);
    if (!md) continue;
    const scanner = [md.Manufacturer, md.ManufacturerModelName].filter((x) => typeof x === 'string' && x.trim()).join(' ').trim() || null;
    const t = Number(md.SliceThickness);
    return { scanner, sliceThickness: md.SliceThickness !== undefined && Number.isFinite(t) ? t : null };
  }
  return null;
}

/** Reads the inputs of up to `limit` studies not read yet (the rest next time). */
export async function collectInputs(db: Kysely<DB>, orthanc: OrthancClient, studyUIDs: readonly string[], limit = 50): Promise<number> {
  const known = new Set((await db.selectFrom('governance_inputs').select('study_uid').execute()).map((r) => r.study_uid));
  let n = 0;
  for (const uid of studyUIDs) {
    if (known.has(uid) || n >= limit) continue;
    n++;
    const input = await readStudyInput(orthanc, uid).catch(() => undefined);
    if (input === undefined) continue; // PACS trouble: try again later
    await db
      .insertInto('governance_inputs')
      .values({ study_uid: uid, scanner: input?.scanner ?? null, slice_thickness: input?.sliceThickness ?? null, state: input ? 'read' : 'no-image', recorded_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('study_uid').doNothing())
      .execute();
  }
  return n;
}

/** The drift rows of a history: outputs from the produced records, inputs per (study, model version) at its first result. */
export async function driftOf(db: Kysely<DB>, orthanc: OrthancClient, h: GovernanceHistory): Promise<DriftRow[]> {
  const first = new Map<string, { studyUID: string; model: string; version: string; at: string }>();
  const note = (studyUID: string, model: string, version: string, at: string) => {
    const k = `${studyUID}\u0000${model}\u0000${version}`;
    const cur = first.get(k);
    if (!cur || at < cur.at) first.set(k, { studyUID, model, version, at });
  };
  for (const r of h.produced) note(r.studyUID, r.model, r.version, r.producedAt);
  for (const j of h.jobs) if (j.state === 'done' && j.finishedAt) note(j.studyUID, j.model, j.version, j.finishedAt);
  await collectInputs(db, orthanc, [...new Set([...first.values()].map((f) => f.studyUID))]);
  const rows = new Map((await db.selectFrom('governance_inputs').selectAll().where('state', '=', 'read').execute()).map((r) => [r.study_uid, r]));
  const inputs: StudyInput[] = [];
  for (const f of first.values()) {
    const r = rows.get(f.studyUID);
    if (r) inputs.push({ ...f, scanner: r.scanner, sliceThickness: r.slice_thickness });
  }
  return computeDrift(h.produced, inputs);
}
