/**
 * Model detections → Findings (src/core/findings/finding.ts), the one representation every
 * sink reads. Boxes on adjacent slices that overlap are one lesion, so a bleed seen on five
 * slices is one finding with five regions, not five findings.
 */
import { FindingSchema, LIMITS, type Finding, type ImageRef } from '../findings/finding.js';
import type { ModelManifest } from './manifest.js';
import { iou, type SliceDetection } from './processing.js';

export interface SliceResult {
  image: ImageRef;
  columns: number;
  rows: number;
  detections: SliceDetection[];
}

export interface ToFindingsInput {
  manifest: Pick<ModelManifest, 'name' | 'version' | 'manufacturer' | 'output'>;
  studyInstanceUID: string;
  /** In stack (anatomical) order: linking across slices relies on it. */
  slices: SliceResult[];
  provider: string;
  timingsMs?: Record<string, number>;
  source: 'client' | 'preread';
  createdAt?: string;
}

/** FNV-1a, 32-bit, hex: a stable short id without Node's crypto (this module is isomorphic). */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

interface Track {
  classIndex: number;
  lastSlice: number;
  lastBox: SliceDetection['box'];
  members: { slice: number; det: SliceDetection }[];
}

const round = (v: number) => Math.round(v * 100) / 100;

export function toFindings(input: ToFindingsInput): Finding[] {
  const { manifest } = input;
  const link = manifest.output.decoding.linkAcrossSlices;
  const tracks: Track[] = [];
  input.slices.forEach((s, si) => {
    for (const det of s.detections) {
      const open = link
        ? tracks.find((t) => t.classIndex === det.classIndex && t.lastSlice === si - 1 && iou(t.lastBox, det.box) > 0)
        : undefined;
      if (open) {
        open.members.push({ slice: si, det });
        open.lastSlice = si;
        open.lastBox = det.box;
      } else {
        tracks.push({ classIndex: det.classIndex, lastSlice: si, lastBox: det.box, members: [{ slice: si, det }] });
      }
    }
    // Once extended, a track's lastSlice is this slice, so it takes at most one box per slice.
  });

  return tracks.map((t) => {
    const cls = manifest.output.classes.find((c) => c.index === t.classIndex)!;
    const first = input.slices[t.members[0].slice];
    const last = input.slices[t.members[t.members.length - 1].slice];
    const b0 = t.members[0].det.box;
    const confidence = Math.min(1, Math.max(...t.members.map((m) => m.det.score)));
    const id = `ai-${manifest.name}-${manifest.version}-${fnv1a(
      `${input.studyInstanceUID}|${first.image.sopInstanceUID}|${cls.index}|${round(b0.x)},${round(b0.y)},${round(b0.width)},${round(b0.height)}`,
    )}`.slice(0, 128);
    return FindingSchema.parse({
      id,
      studyInstanceUID: input.studyInstanceUID,
      type: cls.code,
      label: cls.label,
      confidence,
      severity: cls.severity,
      regions: t.members.map((m) => {
        const s = input.slices[m.slice];
        return {
          image: s.image,
          box: { x: round(m.det.box.x), y: round(m.det.box.y), width: Math.max(0.01, round(m.det.box.width)), height: Math.max(0.01, round(m.det.box.height)) },
        };
      }),
      extent: t.members.length > 1 ? { firstSopInstanceUID: first.image.sopInstanceUID, lastSopInstanceUID: last.image.sopInstanceUID } : undefined,
      // The model's own map on each slice of the finding: its explanation, drawn when the reader asks (key h).
      heatmaps: heatmapsOf(t, input.slices),
      model: {
        name: manifest.name,
        version: manifest.version,
        manufacturer: manifest.manufacturer,
        executionProvider: input.provider,
        timingsMs: input.timingsMs,
      },
      source: input.source,
      status: 'ai-unverified',
      kind: 'diagnostic',
      createdAt: input.createdAt,
    });
  });
}

/** One heatmap per slice of the track that carried its class map (at most the schema's limit). */
function heatmapsOf(t: Track, slices: readonly SliceResult[]): Finding['heatmaps'] {
  const out: NonNullable<Finding['heatmaps']> = [];
  for (const m of t.members) {
    const h = m.det.heat;
    if (!h || out.length >= LIMITS.heatmaps) continue;
    out.push({ image: slices[m.slice].image, width: h.width, height: h.height, values: h.values, scale: { min: 0, max: 1, unit: 'probability' } });
  }
  return out.length ? out : undefined;
}
