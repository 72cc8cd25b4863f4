/**
 * The opening series and its slice order from Orthanc's index (its database), without reading every
 * file: Orthanc keeps each instance's SOP Instance UID, Instance Number, Image Position and Image
 * Orientation (Patient) in its index, so a 560-slice series is ordered in ~20 ms where the study's
 * WADO-RS metadata (every file parsed) takes 300–550 ms on the 2-core box (measured with Orthanc
 * 1.10 + DICOMweb 1.7, whose metadata has no cache). Only the first slice's own metadata is read.
 *
 * The order is the viewer's own rule (src/core/imaging/stack.ts, firstImageOf on the index fields),
 * so the manifest equals what the full metadata gives; where the index cannot say (a series holding
 * an instance without plane position — an SR, PR, KO or SEG stored among the images — multi-frame
 * instances, an image without position such as a radiograph), this answers null and the caller
 * falls back to the whole study's metadata. Never a guess.
 */
import crypto from 'node:crypto';
import { orthancFetch, orthancGet, orthancPostJson, type OrthancClient } from '../orthanc/client.js';
import { compareSeries, firstImageOf, isImageInstance, isImageModality, type StackEntry } from '../../src/core/imaging/stack.js';
import { TAG, num, type DicomJson } from '../../src/core/imaging/dicomJson.js';

interface IndexSeries {
  ID: string;
  MainDicomTags?: Record<string, string | undefined>;
  /** Orthanc's ids of the series' instances (in the expanded answer of /tools/find). */
  Instances?: string[];
}

/**
 * Slice orders read from the index, per series and exact set of instances. Reading every instance's
 * index fields is the part of the opening that grows with the series (about 10 ms for 28 slices,
 * 25–45 ms for 280–560 on the 2-core box, on the way to the first image); the series' own answer,
 * already read to choose the series, lists its instances, so a re-open of an unchanged series (the
 * same reader again, a second reader, the attending after the resident) skips that read. An instance
 * added or deleted changes the set, and the order is read again. Bounded: the oldest entry goes first.
 */
const orders = new Map<string, { version: string; metas: DicomJson[] }>();
const MAX_ORDERS = 500;

/** The series' version: a digest of its instances' ids, whatever order Orthanc lists them in. */
function versionOf(instances: string[] | undefined): string | null {
  if (!instances?.length) return null;
  return crypto.createHash('sha1').update([...instances].sort().join('\n')).digest('base64');
}

async function indexedMetas(o: OrthancClient, series: IndexSeries, seriesUID: string, modality: string, signal?: AbortSignal): Promise<DicomJson[] | null> {
  const key = `${o.url}|${series.ID}`;
  const version = versionOf(series.Instances);
  const known = orders.get(key);
  if (version && known?.version === version) return known.metas;
  const instances = await orthancGet<IndexInstance[]>(o, `/series/${encodeURIComponent(series.ID)}/instances`, signal);
  const metas: DicomJson[] = [];
  for (const i of instances) {
    const m = instanceFromIndex(seriesUID, modality, i.MainDicomTags ?? {});
    if (!m) return null; // the index cannot tell this series' order: the full metadata decides
    metas.push(m);
  }
  // Kept only when what was read is the set the version names (no instance came or went in between).
  if (version && versionOf(instances.map((i) => i.ID ?? '')) === version) {
    orders.delete(key);
    orders.set(key, { version, metas });
    if (orders.size > MAX_ORDERS) orders.delete(orders.keys().next().value!);
  }
  return metas;
}
interface IndexInstance {
  ID?: string;
  MainDicomTags?: Record<string, string | undefined>;
}

/** A backslash-separated DS value of exactly `n` finite numbers, else undefined. */
function decimals(v: string | undefined, n: number): number[] | undefined {
  if (!v) return undefined;
  const parts = v.split('\\').map((s) => Number(s.trim()));
  return parts.length === n && parts.every((x) => Number.isFinite(x)) ? parts : undefined;
}

/** DICOM JSON for one instance from its index fields, as the stack rule reads them; null when they cannot order it. */
export function instanceFromIndex(seriesUID: string, modality: string, tags: Record<string, string | undefined>): DicomJson | null {
  const sop = tags.SOPInstanceUID;
  const ipp = decimals(tags.ImagePositionPatient, 3);
  const iop = decimals(tags.ImageOrientationPatient, 6);
  const frames = tags.NumberOfFrames ? Number(tags.NumberOfFrames) : 1;
  if (!sop || !ipp || !iop || frames !== 1) return null;
  const inst: DicomJson = {
    [TAG.SeriesInstanceUID]: { vr: 'UI', Value: [seriesUID] },
    [TAG.SOPInstanceUID]: { vr: 'UI', Value: [sop] },
    [TAG.Modality]: { vr: 'CS', Value: [modality] },
    [TAG.ImagePositionPatient]: { vr: 'DS', Value: ipp },
    [TAG.ImageOrientationPatient]: { vr: 'DS', Value: iop },
  };
  const n = tags.InstanceNumber ? Number(tags.InstanceNumber) : NaN;
  if (Number.isFinite(n)) inst[TAG.InstanceNumber] = { vr: 'IS', Value: [n] };
  return inst;
}

export interface IndexedOpening {
  entries: StackEntry[];
  /** The first slice's own WADO-RS metadata (for the preview's display fields). */
  instance: DicomJson;
}

export async function openingFromIndex(o: OrthancClient, studyUID: string, signal?: AbortSignal): Promise<IndexedOpening | null> {
  const series = await orthancPostJson<IndexSeries[]>(o, '/tools/find', { Level: 'Series', Query: { StudyInstanceUID: studyUID }, Expand: true });
  // The series list's rule (firstSeriesOf): image series in series-number order, then description.
  const candidates = series
    .map((s) => ({ series: s, tags: s.MainDicomTags ?? {} }))
    .filter((s) => s.tags.SeriesInstanceUID && isImageModality(s.tags.Modality))
    .map((s) => ({ ...s, seriesNumber: s.tags.SeriesNumber ? Number(s.tags.SeriesNumber) : undefined, description: s.tags.SeriesDescription ?? '' }))
    .map((s) => ({ ...s, seriesNumber: Number.isFinite(s.seriesNumber) ? s.seriesNumber : undefined }))
    .sort(compareSeries);
  const chosen = candidates[0];
  if (!chosen) return null;
  const seriesUID = chosen.tags.SeriesInstanceUID!;
  const metas = await indexedMetas(o, chosen.series, seriesUID, chosen.tags.Modality ?? '', signal);
  if (!metas) return null;
  const first = firstImageOf(studyUID, metas);
  if (!first) return null;
  const e = first.entries[0];
  const r = await orthancFetch(o, `${o.dicomWebRoot}/studies/${studyUID}/series/${e.seriesInstanceUID}/instances/${e.sopInstanceUID}/metadata`, {
    headers: { accept: 'application/dicom+json' },
    ...(signal ? { signal } : {}),
  });
  if (!r.ok) return null;
  const own = ((await r.json()) as DicomJson[])[0];
  // The index said "a slice"; its own header must agree (an image SOP class with rows and columns, one frame).
  if (!own || !isImageInstance(own) || (num(own, TAG.NumberOfFrames) ?? 1) !== 1) return null;
  return { entries: first.entries, instance: own };
}
