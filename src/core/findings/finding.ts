/**
 * The one Finding model, shared by viewer and gateway. Every source (ONNX output,
 * TID 1500 SR, JSON import, fixtures) is normalised into it by an adapter; every
 * sink (overlay, sidebar, SR writer, HL7 writer) reads it. Nothing else describes a finding.
 */
import { z } from 'zod';

export const SEVERITIES = ['critical', 'urgent', 'routine'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const FINDING_STATUSES = ['ai-unverified', 'accepted', 'modified', 'rejected'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

export const REJECT_REASONS = ['false-positive', 'artefact', 'clinically-insignificant', 'other'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * Length limits of every string a finding stores (issue 13 item 8). The gateway also refuses any body
 * string over 16k, but a label the size of a page would still be stored, drawn and written into the SR
 * and the ORU; each field gets the length its meaning needs, after the DICOM value representation it is
 * written as where there is one (LO: 64 characters), with room for what other vendors' SRs carry.
 */
export const LIMITS = {
  /** Code Value (SH 16; long code values up to 64). */
  codeValue: 64,
  /** Coding Scheme Designator (SH 16; some vendors write longer scheme names). */
  codeScheme: 64,
  /** Code Meaning (LO 64; a vendor SR may carry more, kept up to four times that). */
  codeMeaning: 256,
  /** What the reader sees on the mark and in the list. */
  label: 128,
  /** Model name and version (the registry's own name rule is at most 64). */
  modelName: 64,
  modelVersion: 64,
  /** Manufacturer (LO 64), with room for a vendor's longer name. */
  manufacturer: 128,
  executionProvider: 32,
  /** Keys of the timings record, and how many. */
  timingKey: 64,
  timings: 32,
  /** A user name or system actor (users are at most 64). */
  actor: 64,
  role: 64,
  note: 500,
  findingId: 128,
  unit: 32,
  /** Images a finding may refer to (one region per image: a whole CT series fits). */
  regions: 4000,
  polygonPoints: 10_000,
  heatmaps: 64,
  measurements: 100,
} as const;

const text = (max: number) => z.string().max(max, `at most ${max} characters`);

const uid = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'a DICOM UID has at most 64 characters')
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID (digits and dots)');

/** A coded concept, as in DICOM (value, scheme, meaning). */
export const CodeSchema = z.object({
  value: text(LIMITS.codeValue).min(1),
  scheme: text(LIMITS.codeScheme).min(1),
  meaning: text(LIMITS.codeMeaning).min(1),
});
export type Code = z.infer<typeof CodeSchema>;

/** Where on which image: SOP instance plus frame (1-based, multi-frame only). */
export const ImageRefSchema = z.object({
  seriesInstanceUID: uid,
  sopInstanceUID: uid,
  sopClassUID: uid.optional(),
  frameNumber: z.number().int().min(1).optional(),
});
export type ImageRef = z.infer<typeof ImageRefSchema>;

/** Axis-aligned box in image pixel coordinates (column x, row y; origin at the top-left pixel's corner). */
export const BoxSchema = z
  .object({
    x: z.number().finite(),
    y: z.number().finite(),
    width: z.number().finite().positive('must be > 0'),
    height: z.number().finite().positive('must be > 0'),
  })
  .strict();
export type Box = z.infer<typeof BoxSchema>;

export const PointSchema = z.tuple([z.number().finite(), z.number().finite()]);

/** The geometry of a finding on one image. */
export const RegionSchema = z.object({
  image: ImageRefSchema,
  box: BoxSchema.optional(),
  polygon: z.array(PointSchema).min(3, 'a polygon needs at least 3 points').max(LIMITS.polygonPoints).optional(),
});
export type Region = z.infer<typeof RegionSchema>;

/**
 * A probability map registered to one image. Its grid may differ from the image's:
 * it covers the image's full extent, so heatmap cell (i, j) maps to image pixel
 * (i * columns / width, j * rows / height). Values are row-major, scaled by `scale`.
 */
export const HeatmapSchema = z
  .object({
    image: ImageRefSchema,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    values: z.array(z.number().finite()),
    scale: z.object({ min: z.number().finite(), max: z.number().finite(), unit: text(LIMITS.unit).default('probability') }),
  })
  .refine((h) => h.values.length === h.width * h.height, {
    message: 'values.length must equal width * height',
    path: ['values'],
  });
export type Heatmap = z.infer<typeof HeatmapSchema>;

export const MeasurementSchema = z.object({
  name: CodeSchema,
  value: z.number().finite(),
  unit: CodeSchema,
});
export type Measurement = z.infer<typeof MeasurementSchema>;

/** Timings in milliseconds by name: short names, a bounded number of them. */
export const TimingsSchema = z
  .record(text(LIMITS.timingKey), z.number().finite().nonnegative())
  .refine((r) => Object.keys(r).length <= LIMITS.timings, { message: `at most ${LIMITS.timings} timings` });

export const ModelRefSchema = z.object({
  name: text(LIMITS.modelName).min(1),
  version: text(LIMITS.modelVersion).min(1),
  manufacturer: text(LIMITS.manufacturer).min(1).default('Reading Station Demo'),
  executionProvider: text(LIMITS.executionProvider).optional(),
  /** Inference timings in milliseconds (e.g. sessionMs, inferenceMs, totalMs), recorded with AI results. */
  timingsMs: TimingsSchema.optional(),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const VerdictSchema = z.object({
  by: text(LIMITS.actor).min(1),
  role: text(LIMITS.role).optional(),
  at: z.string().datetime({ offset: true }),
  reason: z.enum(REJECT_REASONS).optional(),
  note: text(LIMITS.note).optional(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export const FindingSchema = z
  .object({
    id: text(LIMITS.findingId).min(1),
    studyInstanceUID: uid,
    /** Finding type, e.g. (1386000, SCT, Intracranial hemorrhage). */
    type: CodeSchema,
    label: text(LIMITS.label).min(1),
    confidence: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
    /** false when the source stated no certainty (a vendor SR without Certainty of Finding): shown as "confidence not given", never as a percentage. */
    confidenceStated: z.literal(false).optional(),
    severity: z.enum(SEVERITIES),
    /** One region per referenced image; an image-level finding has regions without geometry. */
    regions: z.array(RegionSchema).min(1, 'a finding refers to at least one image').max(LIMITS.regions),
    /** Optional 3D extent: the slice range (0-based stack indices are viewer-specific, so SOP UIDs). */
    extent: z.object({ firstSopInstanceUID: uid, lastSopInstanceUID: uid }).optional(),
    heatmaps: z.array(HeatmapSchema).max(LIMITS.heatmaps).optional(),
    measurements: z.array(MeasurementSchema).max(LIMITS.measurements).default([]),
    findingSite: CodeSchema.optional(),
    model: ModelRefSchema,
    source: z.enum(['preread', 'client', 'import', 'sr', 'fixture', 'radiologist']),
    status: z.enum(FINDING_STATUSES).default('ai-unverified'),
    verdict: VerdictSchema.optional(),
    /** For a modified finding: the id of the AI original it replaces. */
    originalId: text(LIMITS.findingId).optional(),
    /** For quality flags (technologist role) rather than diagnostic findings. */
    kind: z.enum(['diagnostic', 'quality']).default('diagnostic'),
    trackingUID: uid.optional(),
    /** When the gateway received it (server time; never taken from a client). */
    createdAt: z.string().datetime({ offset: true }).optional(),
    /** Who or what handed it to the gateway (a user, `preread`, `sr-reader`, `fixture`); stamped by the server. */
    ingestedBy: text(LIMITS.actor).min(1).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.status !== 'ai-unverified' && !f.verdict) {
      ctx.addIssue({ code: 'custom', path: ['verdict'], message: `status ${f.status} needs a verdict (who and when)` });
    }
    if (f.status === 'modified' && !f.originalId) {
      ctx.addIssue({ code: 'custom', path: ['originalId'], message: 'a modified finding keeps a link to its AI original' });
    }
  });
export type Finding = z.infer<typeof FindingSchema>;
export type FindingInput = z.input<typeof FindingSchema>;

/** Human-readable list of what is wrong, one line per field, naming the path ("regions.0.box.width: must be > 0"). */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export function parseFinding(input: unknown): ParseResult<Finding> {
  const r = FindingSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: describeIssues(r.error) };
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, urgent: 1, routine: 2 };

/** Sidebar order: severity first (critical on top), then confidence descending, then id for stability. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    b.confidence - a.confidence ||
    a.id.localeCompare(b.id)
  );
}

export function isPending(f: Finding): boolean {
  return f.status === 'ai-unverified';
}

/** Well-known finding types. SNOMED CT where one exists; local codes (99RS) otherwise. */
export const FINDING_TYPES = {
  intracranialHemorrhage: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
  pulmonaryNodule: { value: '427359005', scheme: 'SCT', meaning: 'Solitary nodule of lung' },
  fracture: { value: '125605004', scheme: 'SCT', meaning: 'Fracture of bone' },
  pneumothorax: { value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax' },
  motionArtefact: { value: 'RS-Q-MOTION', scheme: '99RS', meaning: 'Motion artefact' },
  incompleteSeries: { value: 'RS-Q-INCOMPLETE', scheme: '99RS', meaning: 'Incomplete series' },
} as const satisfies Record<string, Code>;
