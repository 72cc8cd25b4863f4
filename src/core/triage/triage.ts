/**
 * Study triage: a priority from a study's findings. The rules are data (validated with zod) so a site
 * can change what counts as critical without touching code; `prioritise` is pure and isomorphic.
 */
import { z } from 'zod';
import { LIMITS, type Finding } from '../findings/finding.js';

export const PRIORITIES = ['critical', 'urgent', 'routine', 'none'] as const;
export type Priority = (typeof PRIORITIES)[number];

const PRIORITY_RANK: Record<Priority, number> = { critical: 0, urgent: 1, routine: 2, none: 3 };

/** Worklist order: critical first. */
export function comparePriority(a: Priority, b: Priority): number {
  return PRIORITY_RANK[a] - PRIORITY_RANK[b];
}

export const TriageRuleSchema = z
  .object({
    /** Finding type to match (value + scheme); absent matches any type. */
    type: z.object({ value: z.string().min(1).max(LIMITS.codeValue), scheme: z.string().min(1).max(LIMITS.codeScheme) }).optional(),
    /** Only findings of these models (absent: any model). */
    models: z.array(z.string().min(1).max(LIMITS.modelName)).min(1).max(100).optional(),
    /**
     * Confidence at or above which the rule fires. Absent: the model's own threshold
     * (from its manifest, passed to prioritise), else `defaultThreshold`.
     */
    minConfidence: z.number().min(0).max(1).optional(),
    priority: z.enum(['critical', 'urgent', 'routine']),
    /** Word used in the reason ("ICH suspected, 94%"); defaults to the finding's label. */
    reasonLabel: z.string().min(1).max(LIMITS.label).optional(),
  })
  .strict();
export type TriageRule = z.infer<typeof TriageRuleSchema>;

export const TriageRulesSchema = z
  .object({
    rules: z.array(TriageRuleSchema).max(200),
    /** Threshold for rules without minConfidence when the model declares none. */
    defaultThreshold: z.number().min(0).max(1).default(0.5),
    /** Priority of a finding that no rule matches: its own severity, or a fixed level. */
    unmatched: z.enum(['severity', 'routine', 'none']).default('severity'),
  })
  .strict();
export type TriageRules = z.infer<typeof TriageRulesSchema>;

export interface TriageResult {
  priority: Priority;
  reason: string;
  /** The finding that set the priority (absent for 'none'). */
  findingId?: string;
}

/** Default site rules: bleeds and pneumothorax are critical above the model threshold, fractures urgent. */
export const DEFAULT_TRIAGE_RULES: TriageRules = TriageRulesSchema.parse({
  rules: [
    { type: { value: '1386000', scheme: 'SCT' }, priority: 'critical', reasonLabel: 'ICH' },
    { type: { value: '36118008', scheme: 'SCT' }, priority: 'critical', reasonLabel: 'Pneumothorax' },
    { type: { value: '125605004', scheme: 'SCT' }, priority: 'urgent', reasonLabel: 'Fracture' },
    { type: { value: '427359005', scheme: 'SCT' }, priority: 'routine', reasonLabel: 'Lung nodule' },
  ],
});

export function parseTriageRules(input: unknown): { ok: true; value: TriageRules } | { ok: false; errors: string[] } {
  const r = TriageRulesSchema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, errors: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`) };
}

function ruleMatches(rule: TriageRule, f: Finding): boolean {
  if (rule.type && (rule.type.value !== f.type.value || rule.type.scheme !== f.type.scheme)) return false;
  if (rule.models && !rule.models.includes(f.model.name)) return false;
  return true;
}

/** Key of a per-class threshold in the `modelThresholds` map ("ich-ct/SCT:1386000"); a bare model name covers all its classes. */
export function thresholdKey(model: string, type: { scheme: string; value: string }): string {
  return `${model}/${type.scheme}:${type.value}`;
}

function pct(c: number): string {
  return `${Math.round(c * 100)}%`;
}

/**
 * Priority of a study from its findings. Rejected findings and quality flags do not count (a
 * radiologist's "false positive" must lower the flag); the first matching rule decides for each
 * finding, and the highest priority over all findings wins, ties broken by confidence.
 * A finding of a matched type below its threshold does not fall through to the severity default:
 * below threshold means "not suspected".
 */
export function prioritise(findings: readonly Finding[], rules: TriageRules, modelThresholds: Readonly<Record<string, number>> = {}): TriageResult {
  let best: { priority: Priority; confidence: number; finding: Finding; label: string } | null = null;
  for (const f of findings) {
    if (f.status === 'rejected' || f.kind === 'quality') continue;
    let priority: Priority | null = null;
    let label = f.label;
    const rule = rules.rules.find((r) => ruleMatches(r, f));
    if (rule) {
      const threshold = rule.minConfidence ?? modelThresholds[thresholdKey(f.model.name, f.type)] ?? modelThresholds[f.model.name] ?? rules.defaultThreshold;
      if (f.confidence < threshold) continue;
      priority = rule.priority;
      label = rule.reasonLabel ?? f.label;
    } else if (rules.unmatched === 'severity') priority = f.severity;
    else if (rules.unmatched === 'routine') priority = 'routine';
    if (!priority) continue;
    if (!best || comparePriority(priority, best.priority) < 0 || (priority === best.priority && f.confidence > best.confidence)) {
      best = { priority, confidence: f.confidence, finding: f, label };
    }
  }
  if (!best) return { priority: 'none', reason: findings.length ? 'no finding above threshold' : 'no AI findings' };
  return { priority: best.priority, reason: reasonOf(best.finding, best.label), findingId: best.finding.id };
}

/**
 * The words a reader sees for the deciding finding. A radiologist's own finding is not a suspicion with
 * a certainty ("ICH suspected, 100%" would read as AI output); a source that gave no certainty is never
 * shown with a percentage (the finding's confidence is then only a placeholder).
 */
function reasonOf(f: Finding, label: string): string {
  if (f.source === 'radiologist') return `${label}, radiologist's finding`;
  if (f.confidenceStated === false) return `${label} suspected, confidence not given`;
  return `${label} suspected, ${pct(f.confidence)}`;
}
