/**
 * The report draft: findings sentences, a measurement table and an impression, pre-populated from the
 * accepted and modified findings by a template, then edited by the radiologist. Every line drafted from
 * AI output is marked `origin: 'ai'` and stays "AI-suggested" until the radiologist accepts it or edits it
 * (an edit makes it the radiologist's). Pure and isomorphic: the viewer drafts, the gateway validates and
 * turns the signed draft into the SR's TEXT items, the ORU's OBX TX lines and the FHIR conclusion.
 */
import { z } from 'zod';
import type { Finding } from '../findings/finding.js';
import { severityWord } from './severity.js';
import { templateById, type ReportTemplate } from './templates.js';

export const LINE_ORIGINS = ['ai', 'radiologist', 'template'] as const;
export type LineOrigin = (typeof LINE_ORIGINS)[number];

const LineSchema = z
  .object({
    id: z.string().min(1).max(80),
    text: z.string().max(2000),
    /** 'ai': worded from AI output; 'radiologist': typed or edited by the reader; 'template': the template's normal wording. */
    origin: z.enum(LINE_ORIGINS),
    /** An AI line the radiologist accepted as written. Radiologist and template lines are always accepted. */
    accepted: z.boolean(),
    findingId: z.string().max(200).optional(),
  })
  .strict();
export type DraftLine = z.infer<typeof LineSchema>;

const MeasurementRowSchema = z
  .object({
    findingId: z.string().max(200),
    finding: z.string().max(200),
    name: z.string().max(200),
    value: z.number().finite(),
    unit: z.string().max(40),
    /** Measured by the radiologist or computed by the AI. */
    origin: z.enum(['ai', 'radiologist']),
  })
  .strict();
export type MeasurementRow = z.infer<typeof MeasurementRowSchema>;

export const ReportDraftSchema = z
  .object({
    templateId: z.string().min(1).max(64),
    findings: z.array(LineSchema).max(200),
    measurements: z.array(MeasurementRowSchema).max(200),
    impression: LineSchema,
    /** Free text anywhere else (comparison, technique, recommendations). */
    comments: z.string().max(10_000),
  })
  .strict();
export type ReportDraft = z.infer<typeof ReportDraftSchema>;

export function parseDraft(input: unknown): { ok: true; value: ReportDraft } | { ok: false; errors: string[] } {
  const r = ReportDraftSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`) };
}

/** The findings a report is drafted from: accepted and modified ones, and the radiologist's own; never rejected or unverified. */
export function reportableFindings(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.kind !== 'quality' && (f.status === 'accepted' || f.status === 'modified'));
}

const LENGTH_UNITS = new Set(['mm', 'cm']);

function sizeOf(f: Finding): string {
  const m = f.measurements.find((x) => LENGTH_UNITS.has(x.unit.value));
  return m ? `, ${round(m.value)} ${m.unit.value}` : '';
}

const round = (n: number) => String(Math.round(n * 10) / 10);

function fill(text: string, f: Finding): string {
  return text
    .replace('{label}', f.label)
    .replace('{site}', f.findingSite ? ` (${f.findingSite.meaning})` : '')
    .replace('{size}', sizeOf(f))
    .replace('{confidence}', `${Math.round(f.confidence * 100)}%`)
    .replace(/\s+\./g, '.')
    .replace(/^./, (c) => c.toUpperCase());
}

const fromAi = (f: Finding) => f.source !== 'radiologist';

export function sentenceFor(f: Finding, t: ReportTemplate): string {
  const special = t.sentences.find((s) => s.type.value === f.type.value && s.type.scheme === f.type.scheme);
  return fill(special?.text ?? t.defaultSentence, f);
}

/** A radiologist's measurement as the measurements capability stores it (src/core/measurements), the part the report needs. */
export interface RadiologistMeasurement {
  id: string;
  tool: string;
  stats: { length?: number; angle?: number; area?: number; mean?: number; value?: number; unit?: string; areaUnit?: string; modalityUnit?: string };
}

const TOOL_LABEL: Record<string, string> = { length: 'Length', angle: 'Angle', rectangle: 'Rectangle ROI', ellipse: 'Ellipse ROI', probe: 'Probe' };

/** The measurement table rows of the radiologist's own measurements (length, angle, ROI area and mean, probe value). */
export function measurementRows(ms: readonly RadiologistMeasurement[]): MeasurementRow[] {
  const rows: MeasurementRow[] = [];
  ms.forEach((m, i) => {
    const what = `${TOOL_LABEL[m.tool] ?? m.tool} ${i + 1}`;
    const row = (name: string, value: number | undefined, unit: string | undefined) =>
      value !== undefined && Number.isFinite(value) && rows.push({ findingId: `m:${m.id}`.slice(0, 200), finding: what, name, value, unit: unit ?? '', origin: 'radiologist' });
    row('Length', m.stats.length, m.stats.unit);
    row('Angle', m.stats.angle, '°');
    row('Area', m.stats.area, m.stats.areaUnit);
    row('Mean', m.stats.mean, m.stats.modalityUnit);
    row('Value', m.stats.value, m.stats.modalityUnit);
  });
  return rows;
}

/** A new draft from the template, the findings and the radiologist's measurements; `templateId` must name a known template. */
export function draftFromFindings(findings: readonly Finding[], templateId: string, radiologistMeasurements: readonly RadiologistMeasurement[] = []): ReportDraft {
  const t = templateById(templateId) ?? templateById('generic')!;
  const used = reportableFindings(findings);
  const lines: DraftLine[] = used.map((f) => ({
    id: `f:${f.id}`,
    text: sentenceFor(f, t),
    origin: fromAi(f) ? 'ai' : 'radiologist',
    accepted: !fromAi(f),
    findingId: f.id,
  }));
  if (!lines.length) t.normal.forEach((text, i) => lines.push({ id: `t:${i}`, text, origin: 'template', accepted: true }));
  const measurements: MeasurementRow[] = [
    ...used.flatMap((f) =>
      f.measurements.map((m) => ({ findingId: f.id, finding: f.label, name: m.name.meaning, value: m.value, unit: m.unit.value, origin: fromAi(f) ? ('ai' as const) : ('radiologist' as const) })),
    ),
    ...measurementRows(radiologistMeasurements),
  ];
  const ordered = [...used].sort((a, b) => rank(a) - rank(b));
  const impression: DraftLine = used.length
    ? {
        id: 'impression',
        text: fill(t.impression.replace('{list}', ordered.map((f) => `${f.label}${f.severity === 'critical' ? ` (${severityWord(f.severity).toLowerCase()})` : ''}`).join('; ')), ordered[0]),
        origin: used.some(fromAi) ? 'ai' : 'radiologist',
        accepted: !used.some(fromAi),
      }
    : { id: 'impression', text: t.impressionNormal, origin: 'template', accepted: true };
  return { templateId: t.id, findings: lines, measurements, impression, comments: '' };
}

const rank = (f: Finding) => ({ critical: 0, urgent: 1, routine: 2 })[f.severity];

/**
 * Rebuilds the AI part of a draft from the current findings (a finding accepted later adds its line, a
 * rejected one loses it) and keeps every line the radiologist wrote, edited or accepted.
 */
export function refreshDraft(draft: ReportDraft, findings: readonly Finding[], radiologistMeasurements: readonly RadiologistMeasurement[] = []): ReportDraft {
  const fresh = draftFromFindings(findings, draft.templateId, radiologistMeasurements);
  // Kept: the radiologist's lines, accepted AI lines, and comparison lines (c:…, they follow the prior, not the findings).
  const keep = draft.findings.filter((l) => l.origin === 'radiologist' || (l.origin === 'ai' && l.accepted) || l.id.startsWith('c:'));
  const keptIds = new Set(keep.map((l) => l.id));
  const hasOwn = keep.length > 0;
  const added = fresh.findings.filter((l) => !keptIds.has(l.id) && !(hasOwn && l.origin === 'template'));
  // The radiologist's impression (typed, or the AI's wording accepted) stays; the template's normal wording
  // and an unaccepted suggestion follow the findings.
  const impression = draft.impression.origin === 'radiologist' || (draft.impression.origin === 'ai' && draft.impression.accepted) ? draft.impression : fresh.impression;
  return { ...draft, findings: [...keep, ...added], measurements: fresh.measurements, impression };
}

/**
 * Interval-change sentences from the comparison with the prior ("nodule 6 mm → 9 mm, +50 % since …"): added once
 * each (id `c:<key>`), AI-suggested until accepted or edited, since the sizes come from AI-found findings.
 */
export function addComparisonLines(draft: ReportDraft, lines: readonly { key: string; text: string }[]): ReportDraft {
  const have = new Set(draft.findings.map((l) => l.id));
  const add = lines.filter((l) => !have.has(`c:${l.key}`)).map((l): DraftLine => ({ id: `c:${l.key}`.slice(0, 80), text: l.text, origin: 'ai', accepted: false }));
  return add.length ? { ...draft, findings: [...draft.findings, ...add] } : draft;
}

/** The reader typed over a line: it is now the radiologist's. */
export function editLine(draft: ReportDraft, id: string, text: string): ReportDraft {
  const upd = (l: DraftLine): DraftLine => (l.id === id ? { ...l, text, origin: 'radiologist', accepted: true } : l);
  return { ...draft, findings: draft.findings.map(upd), impression: upd(draft.impression) };
}

/** The reader accepted an AI-suggested line as written. */
export function acceptLine(draft: ReportDraft, id: string): ReportDraft {
  const upd = (l: DraftLine): DraftLine => (l.id === id ? { ...l, accepted: true } : l);
  return { ...draft, findings: draft.findings.map(upd), impression: upd(draft.impression) };
}

export function acceptAll(draft: ReportDraft): ReportDraft {
  const upd = (l: DraftLine): DraftLine => ({ ...l, accepted: true });
  return { ...draft, findings: draft.findings.map(upd), impression: upd(draft.impression) };
}

export function removeLine(draft: ReportDraft, id: string): ReportDraft {
  return { ...draft, findings: draft.findings.filter((l) => l.id !== id) };
}

export function addLine(draft: ReportDraft, text: string, id = `r:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`): ReportDraft {
  return { ...draft, findings: [...draft.findings, { id, text, origin: 'radiologist', accepted: true }] };
}

/** Lines still AI-suggested (neither accepted nor edited): sign-off refuses a report with any. */
export function pendingAiLines(draft: ReportDraft): DraftLine[] {
  return [...draft.findings, draft.impression].filter((l) => l.origin === 'ai' && !l.accepted);
}

export function isAiSuggested(l: DraftLine): boolean {
  return l.origin === 'ai' && !l.accepted;
}

/** The signed text as structured parts: findings sentences (comments last) and the impression. */
export function reportParts(draft: ReportDraft): { findings: string[]; impression: string } {
  const findings = draft.findings.map((l) => l.text.trim()).filter(Boolean);
  const table = draft.measurements.map((m) => `${m.finding}: ${m.name} ${round(m.value)} ${m.unit}`);
  const comments = draft.comments.trim();
  return { findings: [...findings, ...table.map((t) => `Measurement: ${t}.`), ...(comments ? [comments] : [])], impression: draft.impression.text.trim() };
}

/** Plain text of the report (ORU OBX TX lines, FHIR presentedForm): one line per sentence, headed sections. */
export function reportPlainText(draft: ReportDraft, opts: { addendum?: string } = {}): string {
  const lines = ['FINDINGS:', ...draft.findings.map((l) => l.text.trim()).filter(Boolean)];
  if (draft.measurements.length) {
    lines.push('', 'MEASUREMENTS:');
    for (const m of draft.measurements) lines.push(`${m.finding} | ${m.name} | ${round(m.value)} ${m.unit}`);
  }
  if (draft.comments.trim()) lines.push('', 'COMMENTS:', ...draft.comments.trim().split(/\r?\n/));
  lines.push('', 'IMPRESSION:', draft.impression.text.trim());
  if (opts.addendum?.trim()) lines.push('', 'ADDENDUM:', ...opts.addendum.trim().split(/\r?\n/));
  return lines.join('\n');
}
