/**
 * What the viewer sends for a finding the radiologist draws (one the AI missed): a type from the
 * list (or a coded type), a severity, and the box on one image. Everything else (id, source
 * `radiologist`, status, verdict, who and when) is the server's (gateway/findings/ingest.ts
 * ingestRadiologistFinding); a request carrying any of it is refused. Pure.
 */
import { z } from 'zod';
import { CodeSchema, FINDING_TYPES, RegionSchema, SEVERITIES, describeIssues, type Code, type Finding } from './finding.js';

/** Diagnostic types a reader can pick when marking a miss (quality flags are not findings of disease). */
export const MISSED_FINDING_TYPES = ['intracranialHemorrhage', 'pulmonaryNodule', 'fracture', 'pneumothorax'] as const satisfies readonly (keyof typeof FINDING_TYPES)[];
export type MissedFindingType = (typeof MISSED_FINDING_TYPES)[number];

/** The severity a type starts with (the reader may say otherwise). */
export const DEFAULT_SEVERITY: Record<MissedFindingType, Finding['severity']> = {
  intracranialHemorrhage: 'critical',
  pneumothorax: 'critical',
  fracture: 'urgent',
  pulmonaryNodule: 'routine',
};

const RequestSchema = z
  .object({
    type: z.union([z.enum(MISSED_FINDING_TYPES), CodeSchema]),
    label: z.string().min(1).max(64).optional(),
    severity: z.enum(SEVERITIES).optional(),
    region: RegionSchema.refine((r) => !!r.box, { message: 'a box on the image' }),
  })
  .strict();

export function parseRadiologistFindingRequest(raw: unknown): { ok: true; value: { type: Code; label?: string; severity: Finding['severity']; region: Finding['regions'][number] } } | { ok: false; errors: string[] } {
  const r = RequestSchema.safeParse(raw);
  if (!r.success) return { ok: false, errors: describeIssues(r.error) };
  const key = typeof r.data.type === 'string' ? r.data.type : undefined;
  const type: Code = key ? FINDING_TYPES[key] : (r.data.type as Code);
  return { ok: true, value: { type, ...(r.data.label ? { label: r.data.label } : {}), severity: r.data.severity ?? (key ? DEFAULT_SEVERITY[key] : 'urgent'), region: r.data.region } };
}
