/**
 * A result object made by an algorithm, seen by THE reader policy as the finding it amounts to, so no
 * second policy exists for objects. What it carries and why:
 * - source 'import' (AI output, not a radiologist's) and the algorithm's name as the model: AI disabled
 *   for the study or modality, and the model's rollout (off / silent), apply as to its findings;
 * - regions on the images it refers to: the model's indication guard checks those series;
 * - the model name is the algorithm's name as a registry name (lower case, dashes: "SlicerEditor" →
 *   "slicereditor"), the only spelling the rollout control accepts, so an admin can switch it off;
 * - confidence 0 and severity routine, kind diagnostic: an object states no certainty and no
 *   severity, so a role whose rule asks for a minimum confidence, certain severities or certain
 *   finding types (resident, ER attending, technologist by default) does not get it. Fails closed.
 */
import type { Finding } from '../findings/finding.js';
import type { ObjectSummary } from './summary.js';

export type ListedObject = ObjectSummary & { ingestedAsFindings: boolean };

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** An algorithm's name in the model registry's spelling (gateway/trust/routes.ts MODEL_NAME). */
export function modelNameOf(name: string | undefined): string {
  const slug = (name ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return slug || 'unknown';
}

export function asPolicyFinding(o: ObjectSummary): Finding {
  const images = o.referencedSeries.flatMap((r) => r.sopInstanceUIDs.map((sop) => ({ seriesInstanceUID: r.seriesInstanceUID || o.seriesInstanceUID, sopInstanceUID: sop })));
  const regions = (images.length ? images : [{ seriesInstanceUID: o.seriesInstanceUID, sopInstanceUID: o.sopInstanceUID }]).filter((i) => UID.test(i.seriesInstanceUID) && UID.test(i.sopInstanceUID)).map((image) => ({ image }));
  return {
    id: `object:${o.sopInstanceUID}`,
    studyInstanceUID: o.studyInstanceUID,
    type: { value: `RS-OBJECT-${o.kind.toUpperCase()}`, scheme: '99RS', meaning: `${o.kind} object` },
    label: o.contentLabel ?? o.kind,
    confidence: 0,
    severity: 'routine',
    regions,
    measurements: [],
    model: { name: modelNameOf(o.creator.name), version: (o.creator.version ?? 'unknown').slice(0, 64), manufacturer: o.creator.manufacturer ?? 'unknown' },
    source: 'import',
    status: 'ai-unverified',
    kind: 'diagnostic',
  };
}
