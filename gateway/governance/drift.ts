/**
 * Drift inputs: for each study a model read, its scanner (Manufacturer + ManufacturerModelName) and
 * slice thickness, read once from the PACS (one image of its first image series, DICOMweb metadata) and
 * kept in governance_inputs; and its pixel intensities: the pre-read worker keeps each slice's HU histogram
 * with the slice's output (preread_slices.result, from the pixels it decodes for the model anyway), summed
 * per study and model once that model's pre-read of the study is done (governance_intensity). The drift
 * itself is pure (src/core/governance/drift.ts).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { OrthancClient } from '../orthanc/client.js';
import { dicomWeb } from './assessments.js';
import { dcmjs } from '../../src/core/sr/dicom.js';
import { computeDrift, sumHistograms, type DriftRow, type StudyInput, type StudyIntensity } from '../../src/core/governance/drift.js';
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

/**
 * Sums the slice histograms of up to `limit` (study, model) pairs whose pre-read is done and that are not
 * summed yet (the rest next time). A pair with no histogram (not CT, or read before histograms were kept)
 * is recorded as such, so its slices are not read again.
 */
export async function collectIntensities(db: Kysely<DB>, pairs: readonly { studyUID: string; model: string }[], limit = 50): Promise<number> {
  const known = new Set((await db.selectFrom('governance_intensity').select(['study_uid', 'model']).execute()).map((r) => `${r.study_uid}\u0000${r.model}`));
  let n = 0;
  for (const { studyUID, model } of pairs) {
    if (known.has(`${studyUID}\u0000${model}`) || n >= limit) continue;
    n++;
    const slices = await db.selectFrom('preread_slices').select('result').where('study_uid', '=', studyUID).where('model', '=', model).where('state', '=', 'done').execute();
    const hs = slices.map((r) => {
      try {
        return (JSON.parse(r.result ?? 'null') as { huHistogram?: number[] | null } | null)?.huHistogram ?? null;
      } catch {
        return null;
      }
    });
    const sum = sumHistograms(hs);
    await db
      .insertInto('governance_intensity')
      .values({ study_uid: studyUID, model, histogram: sum ? JSON.stringify(sum) : null, slices: hs.filter(Boolean).length, recorded_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['study_uid', 'model']).doNothing())
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
  // Intensities: the studies each model version's pre-read finished (its slices all read), at that time.
  const done = new Map<string, { studyUID: string; model: string; version: string; at: string }>();
  for (const j of h.jobs) {
    if (j.state !== 'done' || !j.finishedAt) continue;
    const k = `${j.studyUID}\u0000${j.model}`;
    const cur = done.get(k);
    if (!cur || j.finishedAt < cur.at) done.set(k, { studyUID: j.studyUID, model: j.model, version: j.version, at: j.finishedAt });
  }
  await collectIntensities(db, [...done.values()]);
  const sums = new Map((await db.selectFrom('governance_intensity').selectAll().where('histogram', 'is not', null).execute()).map((r) => [`${r.study_uid}\u0000${r.model}`, JSON.parse(r.histogram!) as number[]]));
  const intensities: StudyIntensity[] = [];
  for (const [k, d] of done) {
    const histogram = sums.get(k);
    if (histogram) intensities.push({ ...d, histogram });
  }
  return computeDrift(h.produced, inputs, intensities);
}
