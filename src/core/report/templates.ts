/**
 * Report templates as data: which studies a template fits, the sentence a finding of a known type
 * becomes, what is written when nothing was found, and the impression's wording. A site may add its
 * own templates (same shape, validated with zod) without touching code.
 */
import { z } from 'zod';

const CodeRef = z.object({ value: z.string().min(1), scheme: z.string().min(1) }).strict();

export const ReportTemplateSchema = z
  .object({
    id: z.string().min(1).max(64),
    name: z.string().min(1).max(100),
    /** Fits a study with one of these modalities (empty: any) and, when given, one of these body parts or description words. */
    modalities: z.array(z.string().min(1)),
    bodyParts: z.array(z.string().min(1)).default([]),
    /** Finding types this template words specially; `{label}`, `{site}`, `{size}`, `{confidence}` are filled in. */
    sentences: z.array(z.object({ type: CodeRef, text: z.string().min(1) }).strict()).default([]),
    /** Sentence for any other finding. */
    defaultSentence: z.string().min(1),
    /** Written as findings when no finding is present (radiologist's own text, not AI). */
    normal: z.array(z.string().min(1)),
    /** Impression when findings are present: `{list}` is the findings' labels. */
    impression: z.string().min(1),
    /** Impression with no finding. */
    impressionNormal: z.string().min(1),
  })
  .strict();
export type ReportTemplate = z.infer<typeof ReportTemplateSchema>;

const ICH = { value: '1386000', scheme: 'SCT' };
const NODULE = { value: '427359005', scheme: 'SCT' };

export const REPORT_TEMPLATES: readonly ReportTemplate[] = [
  ReportTemplateSchema.parse({
    id: 'head-ct-haemorrhage',
    name: 'Head CT: haemorrhage',
    modalities: ['CT'],
    bodyParts: ['HEAD', 'BRAIN', 'SKULL'],
    sentences: [{ type: ICH, text: 'Hyperdense collection in keeping with acute intracranial haemorrhage{site}{size}.' }],
    defaultSentence: '{label}{site}{size}.',
    normal: ['No acute intracranial haemorrhage.', 'No mass effect or midline shift.', 'Ventricles and sulci are normal for age.'],
    impression: 'Findings in keeping with {list}.',
    impressionNormal: 'No acute intracranial abnormality.',
  }),
  ReportTemplateSchema.parse({
    id: 'chest-nodule',
    name: 'Chest: pulmonary nodule',
    modalities: ['CT', 'CR', 'DX'],
    bodyParts: ['CHEST', 'LUNG', 'THORAX'],
    sentences: [{ type: NODULE, text: 'Pulmonary nodule{site}{size}.' }],
    defaultSentence: '{label}{site}{size}.',
    normal: ['No pulmonary nodule or mass.', 'Lungs are clear. No pleural effusion or pneumothorax.'],
    impression: '{list}. Follow-up according to local nodule guidelines.',
    impressionNormal: 'No acute cardiopulmonary abnormality.',
  }),
  ReportTemplateSchema.parse({
    id: 'generic',
    name: 'Generic',
    modalities: [],
    defaultSentence: '{label}{site}{size}.',
    normal: ['No significant abnormality.'],
    impression: '{list}.',
    impressionNormal: 'No significant abnormality.',
  }),
];

export function templateById(id: string): ReportTemplate | undefined {
  return REPORT_TEMPLATES.find((t) => t.id === id);
}

/**
 * The template that fits a study: the first whose modality and body part (or a description word) match;
 * else one that words a type of the study's findings specially (an SR in the study can hide the body part
 * from a study-level query); else the generic one. Compared case-insensitively.
 */
export function templateFor(
  study: { modalities: readonly string[]; bodyPart?: string; description?: string },
  templates: readonly ReportTemplate[] = REPORT_TEMPLATES,
  findings: readonly { type: { value: string; scheme: string } }[] = [],
): ReportTemplate {
  const words = `${study.bodyPart ?? ''} ${study.description ?? ''}`.toUpperCase();
  const modalityFits = (t: ReportTemplate) => t.modalities.length === 0 || t.modalities.some((m) => study.modalities.includes(m));
  const byBody = templates.find((t) => t.bodyParts.length > 0 && modalityFits(t) && t.bodyParts.some((b) => words.includes(b)));
  if (byBody) return byBody;
  const byType = templates.find((t) => modalityFits(t) && t.sentences.some((x) => findings.some((f) => f.type.value === x.type.value && f.type.scheme === x.type.scheme)));
  return byType ?? templates.find((t) => t.id === 'generic') ?? templates[templates.length - 1];
}
