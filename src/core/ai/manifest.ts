/**
 * The model manifest: what a model is, what it may be run on, how its input is made and its
 * output read. One manifest.json per models/<name>/; the gateway serves them, the browser worker
 * and the Node pre-read both drive pre/post-processing from it, so the two can never disagree.
 */
import { z } from 'zod';
import { CodeSchema, SEVERITIES, describeIssues, type ParseResult } from '../findings/finding.js';
import { parseAgeString } from '../study/facts.js';

const nonEmpty = z.string().min(1, 'must not be empty');

export const IndicationSchema = z
  .object({
    /** DICOM Modality values (CT, CR, DX...). */
    modalities: z.array(nonEmpty).min(1, 'a model is indicated for at least one modality'),
    /** DICOM Body Part Examined values (HEAD, CHEST...); empty = any. */
    bodyParts: z.array(nonEmpty).default([]),
    ageYears: z
      .object({ min: z.number().min(0).default(0), max: z.number().positive().default(150) })
      .refine((a) => a.min <= a.max, { message: 'min must be <= max', path: ['min'] })
      .default({ min: 0, max: 150 }),
    contraindications: z.array(nonEmpty).default([]),
  })
  .strict();

const RangeSchema = z
  .object({ min: z.number().positive(), max: z.number().positive() })
  .strict()
  .refine((r) => r.min <= r.max, { message: 'min must be <= max', path: ['min'] });

/** One intensity band of the domain guard: the fraction of pixels (of the image, or of the body) in [minHu, maxHu]. */
const IntensityBandSchema = z
  .object({
    name: nonEmpty,
    minHu: z.number().finite(),
    maxHu: z.number().finite(),
    of: z.enum(['image', 'body']),
    minFraction: z.number().min(0).max(1).optional(),
    maxFraction: z.number().min(0).max(1).optional(),
    /** Below this standard deviation inside the band the tissue is uniform: not anatomy (a phantom). */
    minStdHu: z.number().min(0).optional(),
    /** Why the bound exists, in words: shown with the refusal. */
    why: z.string().optional(),
  })
  .strict()
  .refine((b) => b.minHu <= b.maxHu, { message: 'minHu must be <= maxHu', path: ['minHu'] });

/**
 * The pixel-value domain guard's parameters (src/core/ai/domain.ts), decided on statistics summed over
 * the series' slices: declared units (Rescale Type / Units, when present), the value range modality
 * values must lie in, what counts as body, and the intensity bands of the declared anatomy and protocol.
 */
export const IntensityGuardSchema = z
  .object({
    /** Accepted Rescale Type / Units values when a header states them (CT leaves them out: HU). */
    rescaleTypes: z.array(nonEmpty).min(1).default(['HU']),
    valueRange: z.object({ min: z.number().finite(), max: z.number().finite() }).strict(),
    /** Above this fraction of pixels outside valueRange the values are not in the declared units. */
    maxOutOfRangeFraction: z.number().min(0).max(1).default(0.01),
    /** Pixels above this value are the body (not the air around it). */
    bodyAboveHu: z.number().finite(),
    bands: z.array(IntensityBandSchema).default([]),
  })
  .strict();

/**
 * The input domain: which images the model was made for, beyond modality and body part. Checked on
 * the study's DICOM facts by the one eligibility rule (src/core/ai/eligibility.ts), in the browser and
 * on the server alike; an image outside it is never given to the model.
 */
export const DomainSchema = z
  .object({
    /**
     * Leading ImageType (0008,0008) values an image must have. Default ORIGINAL\PRIMARY: derived or
     * secondary images (perfusion maps, MPRs, MIPs, screen captures) are outside every model unless
     * its manifest says otherwise. An image without ImageType is outside too.
     */
    imageType: z.array(nonEmpty).min(1).default(['ORIGINAL', 'PRIMARY']),
    /** Slice thickness (0018,0050) in mm; when declared, an image without one is outside. */
    sliceThicknessMm: RangeSchema.optional(),
    /** Pixel spacing (0028,0030, else 0018,1164) in mm, both directions; when declared, an image without one is outside. */
    pixelSpacingMm: RangeSchema.optional(),
    /** The pixel-value guard (src/core/ai/domain.ts): what the model's images look like inside. */
    intensity: IntensityGuardSchema.optional(),
  })
  .strict();
export type ModelDomain = z.infer<typeof DomainSchema>;

/** How stored pixel values become the model's input values in [0, 1]. */
export const NormalisationSchema = z.discriminatedUnion('kind', [
  /** Modality LUT (slope/intercept → e.g. HU), then a linear window clipped to [0, 1]. */
  z.object({ kind: z.literal('window'), center: z.number().finite(), width: z.number().positive() }).strict(),
  /** Per-image min/max to [0, 1]; MONOCHROME1 images are inverted first so that dense = bright. */
  z.object({ kind: z.literal('minmax') }).strict(),
]);
export type Normalisation = z.infer<typeof NormalisationSchema>;

export const InputSchema = z
  .object({
    name: nonEmpty,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    channels: z.literal(1),
    layout: z.literal('NCHW').default('NCHW'),
    normalisation: NormalisationSchema,
    /** Resampling to the model grid; bilinear with pixel centres aligned (torch align_corners=false). */
    resampling: z.literal('bilinear').default('bilinear'),
    /** Row 0 of the input is the first stored row; columns as stored; no flips. MONOCHROME1 inverted. */
    orientation: z.literal('as-stored').default('as-stored'),
  })
  .strict();

export const ClassSchema = z
  .object({
    /** Channel of the output heatmap. */
    index: z.number().int().min(0),
    code: CodeSchema,
    label: nonEmpty,
    severity: z.enum(SEVERITIES),
    /** Probability at or above which a component becomes a finding; lower output is never shown. */
    threshold: z.number().gt(0).lt(1),
  })
  .strict();
export type ModelClass = z.infer<typeof ClassSchema>;

export const OutputSchema = z
  .object({
    name: nonEmpty,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** The graph already applies a sigmoid ('probability') or outputs logits. */
    activation: z.enum(['probability', 'logit']),
    decoding: z
      .object({
        kind: z.literal('heatmap-boxes'),
        connectivity: z.union([z.literal(4), z.literal(8)]).default(8),
        /** Components smaller than this many heatmap cells are dropped as noise. */
        minAreaCells: z.number().int().min(1).default(1),
        nmsIou: z.number().min(0).max(1).default(0.3),
        /** Boxes on adjacent slices that overlap are one finding (one lesion seen on several slices). */
        linkAcrossSlices: z.boolean().default(true),
      })
      .strict(),
    classes: z.array(ClassSchema).min(1),
  })
  .strict()
  .superRefine((o, ctx) => {
    const seen = new Set<number>();
    o.classes.forEach((c, i) => {
      if (seen.has(c.index)) ctx.addIssue({ code: 'custom', path: ['classes', i, 'index'], message: `duplicate class index ${c.index}` });
      seen.add(c.index);
    });
  });

const CalibrationBinSchema = z.object({ from: z.number().min(0).max(1), to: z.number().min(0).max(1), count: z.number().int().positive(), meanScore: z.number().min(0).max(1), observed: z.number().min(0).max(1) }).strict();

export const ValidationSchema = z
  .object({
    /** What the figures were measured on, in words (data, how held out, how many cases). */
    data: nonEmpty,
    method: nonEmpty,
    cases: z.number().int().min(0),
    lesions: z.number().int().min(0),
    lesionFreeSlices: z.number().int().min(0),
    sensitivity: z.number().min(0).max(1),
    falsePositivesPerSlice: z.number().min(0),
    /** Boxes on a real, unmodified normal study, and per held-out lesion-free slice (models/<name>/train.py measures them). */
    falsePositivesPerStudy: z.object({ normalStudy: z.number().int().min(0), normalStudySlices: z.number().int().positive(), perHeldoutLesionFreeSlice: z.number().min(0), data: nonEmpty }).strict().optional(),
    /** Whether a score means what it says: reliability curve (equal-width score bins) and expected calibration error. */
    calibration: z.object({ unit: nonEmpty, bins: z.array(CalibrationBinSchema), expectedCalibrationError: z.number().min(0).max(1), validationBins: z.array(CalibrationBinSchema), validationExpectedCalibrationError: z.number().min(0).max(1) }).strict().optional(),
    /** The threshold and minimum component size, chosen on validation data (never the held-out cases), and why. */
    operatingPoint: z.object({ threshold: z.number().gt(0).lt(1), minAreaCells: z.number().int().min(1), reason: nonEmpty }).strict().optional(),
    /** What the automated tests require on the committed held-out cases. */
    floors: z.object({ sensitivity: z.number().min(0).max(1), maxFalsePositivesPerSlice: z.number().min(0), maxFalsePositivesPerStudy: z.number().int().min(0).optional() }).strict(),
  })
  .strict();

/**
 * Where the model runs. Absent or `local`: here (ONNX, browser worker and pre-read). `remote`: an
 * external AI service (gateway/external-ai): the gateway de-identifies every instance of the study,
 * STOWs them to `url` (DICOMweb STOW-RS, `<url>/studies`), reads the results back as JSON from
 * `<url>/results/<de-identified study UID>` and re-identifies them. The manifest's output classes are
 * what the results are read against (codes, severities, thresholds); its model file names no file, so
 * the local pre-read never runs it. A credential is never in the manifest: `tokenEnv` names the
 * environment variable holding a bearer token. Plain http only to this machine (a test's fake endpoint).
 */
export const RuntimeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }).strict(),
  z
    .object({
      kind: z.literal('remote'),
      url: z
        .string()
        .url()
        .refine((u) => /^https:\/\//.test(u) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(u), 'https, or http to this machine only'),
      results: z.literal('json').default('json'),
      tokenEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional(),
      timeoutMs: z.number().int().positive().max(600_000).default(60_000),
    })
    .strict(),
]);
export type ModelRuntime = z.infer<typeof RuntimeSchema>;

export const ManifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes (it is a URL path segment)'),
    version: nonEmpty,
    manufacturer: nonEmpty,
    licence: nonEmpty,
    intendedUse: nonEmpty,
    /** Regulatory status, stated plainly. */
    regulatoryStatus: nonEmpty,
    training: nonEmpty,
    indication: IndicationSchema,
    domain: DomainSchema.default({ imageType: ['ORIGINAL', 'PRIMARY'] }),
    input: InputSchema,
    output: OutputSchema,
    validation: ValidationSchema,
    runtime: RuntimeSchema.optional(),
    files: z.object({ model: z.string().regex(/^[A-Za-z0-9._-]+\.onnx$/, 'a file name ending .onnx'), sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() }).strict(),
  })
  .strict();
export type ModelManifest = z.infer<typeof ManifestSchema>;
export type ModelManifestInput = z.input<typeof ManifestSchema>;

export function parseManifest(input: unknown): ParseResult<ModelManifest> {
  const r = ManifestSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: describeIssues(r.error) };
}

/** DICOM Patient's Age (AS: "045Y", "006M", "010W", "003D") to years; null when absent or malformed. */
export const parseDicomAge = parseAgeString;
