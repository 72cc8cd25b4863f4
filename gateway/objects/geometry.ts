/**
 * The study's image geometry for the SR reader's SCOORD3D regions (src/core/sr/reader.ts
 * ReadOptions.geometry), read through the one Orthanc client: every single-frame image's plane,
 * grouped by Frame of Reference, with the slice spacing taken from its neighbours' positions (a
 * series with gantry tilt or irregular spacing still places a point on the right slice). Only asked
 * for when the SR has a SCOORD3D item; a PACS error gives no geometry (the region is then skipped
 * with the reader's warning), never a failed SR read.
 */
import type { Dataset } from '../../src/core/sr/dicom.js';
import type { ImageRef } from '../../src/core/findings/finding.js';
import type { ReadOptions } from '../../src/core/sr/reader.js';
import { items } from '../../src/core/sr/reader.js';
import { normalOf, planeOf, type PlacedImage } from '../../src/core/objects/scoord3d.js';
import { isImageModality } from '../../src/core/imaging/stack.js';
import { dicomWebPath, orthancJson, type OrthancClient } from '../orthanc/client.js';

type DicomJson = Record<string, { Value?: unknown[] }>;
const val = (j: DicomJson, tag: string): unknown[] => j[tag]?.Value ?? [];
const s1 = (j: DicomJson, tag: string) => (typeof val(j, tag)[0] === 'string' ? (val(j, tag)[0] as string) : undefined);
const ns = (j: DicomJson, tag: string) => val(j, tag).map(Number);

export function hasScoord3d(ds: Dataset, depth = 0): boolean {
  return depth < 40 && items(ds.ContentSequence).some((c) => c.ValueType === 'SCOORD3D' || hasScoord3d(c, depth + 1));
}

/** Planes of one series' images with each one's slice spacing (the nearer neighbour's distance). */
export function placeSeries(instances: readonly DicomJson[]): { frameOfReferenceUID?: string; image: PlacedImage<ImageRef> }[] {
  const placed = instances.flatMap((j) => {
    const sop = s1(j, '00080018'), series = s1(j, '0020000E');
    const plane = planeOf(ns(j, '00200032'), ns(j, '00200037'), ns(j, '00280030'), Number(val(j, '00280010')[0]), Number(val(j, '00280011')[0]));
    if (!sop || !series || !plane || Number(val(j, '00280008')[0] ?? 1) > 1) return [];
    const n = normalOf(plane);
    const along = plane.origin[0] * n[0] + plane.origin[1] * n[1] + plane.origin[2] * n[2];
    const thickness = Number(val(j, '00180088')[0] ?? val(j, '00180050')[0]);
    return [{ frameOfReferenceUID: s1(j, '00200052'), along, thickness, image: { ref: { seriesInstanceUID: series, sopInstanceUID: sop }, plane, spacing: 0 } }];
  });
  placed.sort((a, b) => a.along - b.along);
  return placed.map((p, i) => {
    const gaps = [placed[i - 1], placed[i + 1]].filter(Boolean).map((q) => Math.abs(q!.along - p.along)).filter((g) => g > 1e-3);
    const spacing = gaps.length ? Math.min(...gaps) : Number.isFinite(p.thickness) && p.thickness > 0 ? p.thickness : 1;
    return { frameOfReferenceUID: p.frameOfReferenceUID, image: { ...p.image, spacing } };
  });
}

/** ReadOptions for one SR: geometry of its study when it has SCOORD3D regions, else nothing. */
export async function srReadOptions(orthanc: OrthancClient, ds: Dataset): Promise<ReadOptions> {
  const study = typeof ds.StudyInstanceUID === 'string' ? ds.StudyInstanceUID : undefined;
  if (!study || !/^[0-9.]{1,64}$/.test(study) || !hasScoord3d(ds)) return {};
  try {
    const series = await orthancJson<DicomJson[]>(orthanc, dicomWebPath(orthanc, `/studies/${study}/series?includefield=00080060`));
    const byFor = new Map<string, PlacedImage<ImageRef>[]>();
    const all: PlacedImage<ImageRef>[] = [];
    for (const s of series) {
      const uid = s1(s, '0020000E');
      if (!uid || !isImageModality(s1(s, '00080060'))) continue;
      const meta = await orthancJson<DicomJson[]>(orthanc, dicomWebPath(orthanc, `/studies/${study}/series/${uid}/metadata`));
      for (const p of placeSeries(meta)) {
        all.push(p.image);
        if (p.frameOfReferenceUID) byFor.set(p.frameOfReferenceUID, [...(byFor.get(p.frameOfReferenceUID) ?? []), p.image]);
      }
    }
    // A SCOORD3D names its Frame of Reference (type 1); one that does not is tried on every image.
    return { geometry: (f) => (f ? byFor.get(f) ?? [] : all) };
  } catch {
    return {};
  }
}
