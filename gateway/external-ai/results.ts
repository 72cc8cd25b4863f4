/**
 * What a remote model hands back, and how it becomes findings of the original study. Pure.
 *
 * The endpoint answers JSON in the de-identified UID space it was sent:
 *   { "studyInstanceUID": "2.25…", "findings": [ { "sopInstanceUID": "2.25…", "frameNumber"?: n,
 *       "code": { "value", "scheme", "meaning" }, "confidence": 0..1, "box": { x, y, width, height },
 *       "label"?: "…" } ] }
 * Each finding is re-identified through the reverse UID map (kept server-side only), read against the
 * manifest's output classes (a code the model does not declare is refused, a confidence under the
 * class threshold is not a finding, the severity is the manifest's), and given an id derived from what
 * it says, so a re-delivery of the same result is the same finding (ingest keeps it unchanged).
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import type { ModelManifest } from '../../src/core/ai/manifest.js';
import { BoxSchema, CodeSchema, type FindingInput } from '../../src/core/findings/finding.js';

const uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64);

export const RemoteResultSchema = z.object({
  studyInstanceUID: uid,
  findings: z
    .array(
      z.object({
        sopInstanceUID: uid,
        frameNumber: z.number().int().min(1).optional(),
        code: CodeSchema,
        confidence: z.number().min(0).max(1),
        box: BoxSchema,
        label: z.string().max(128).optional(),
      }),
    )
    .max(10_000),
});
export type RemoteResult = z.infer<typeof RemoteResultSchema>;

export interface OriginalInstance {
  sopInstanceUID: string;
  seriesInstanceUID: string;
}

export interface Reidentified {
  findings: FindingInput[];
  /** Results not taken, with why (no UIDs of the original study in these). */
  refused: { index: number; reason: string }[];
}

export function reidentify(
  result: RemoteResult,
  ctx: { deidStudyUID: string; originalStudyUID: string; reverse: (deid: string) => string | undefined; instances: Map<string, OriginalInstance>; manifest: ModelManifest },
): Reidentified {
  if (result.studyInstanceUID !== ctx.deidStudyUID) throw new Error('the result names another study than the one sent');
  const out: Reidentified = { findings: [], refused: [] };
  result.findings.forEach((r, index) => {
    const sop = ctx.reverse(r.sopInstanceUID);
    const inst = sop ? ctx.instances.get(sop) : undefined;
    if (!inst) return out.refused.push({ index, reason: 'names an instance that was not sent' });
    const cls = ctx.manifest.output.classes.find((c) => c.code.value === r.code.value && c.code.scheme === r.code.scheme);
    if (!cls) return out.refused.push({ index, reason: `code ${r.code.scheme}:${r.code.value} is not an output class of the model` });
    if (r.confidence < cls.threshold) return out.refused.push({ index, reason: 'below the class threshold' });
    const key = JSON.stringify([ctx.manifest.name, ctx.manifest.version, inst.sopInstanceUID, r.frameNumber ?? 0, cls.code.value, r.box]);
    out.findings.push({
      id: `ext-${ctx.manifest.name}-${crypto.createHash('sha256').update(key).digest('hex').slice(0, 24)}`,
      studyInstanceUID: ctx.originalStudyUID,
      type: cls.code,
      label: cls.label,
      confidence: r.confidence,
      severity: cls.severity,
      regions: [{ image: { seriesInstanceUID: inst.seriesInstanceUID, sopInstanceUID: inst.sopInstanceUID, ...(r.frameNumber ? { frameNumber: r.frameNumber } : {}) }, box: r.box }],
      model: { name: ctx.manifest.name, version: ctx.manifest.version, manufacturer: ctx.manifest.manufacturer },
      source: 'preread',
    } as FindingInput);
  });
  return out;
}
