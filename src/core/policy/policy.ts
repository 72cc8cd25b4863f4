/**
 * Who may see which AI findings, as data. The gateway applies it to every response that carries
 * findings (server authority); the viewer may apply it too, but only for display.
 * Deny by default: a role without a rule sees nothing, a rule without kinds sees nothing.
 */
import { z } from 'zod';
import { ROLES, type Role } from '../auth/roles.js';
import { can, rolesFor } from '../auth/permissions.js';
import { SEVERITIES, type Finding } from '../findings/finding.js';

/** A finding type matched by code value + scheme (the meaning is display text, never compared). */
export const TypeRefSchema = z.object({ value: z.string().min(1), scheme: z.string().min(1), meaning: z.string().optional() }).strict();
export type TypeRef = z.infer<typeof TypeRefSchema>;

export const RoleRuleSchema = z
  .object({
    /** Which kinds of findings this role may see at all; empty = none. */
    kinds: z.array(z.enum(['diagnostic', 'quality'])).default([]),
    /** Findings below this confidence are hidden from the role (0 = any confidence). */
    minConfidence: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').default(0),
    /** Only these severities (the triage priority rules); absent = any severity. */
    severities: z.array(z.enum(SEVERITIES)).optional(),
    /** Only these finding types; absent = any type. */
    findingTypes: z.array(TypeRefSchema).optional(),
    /** Only studies of these modalities (e.g. CT); absent = any modality. */
    modalities: z.array(z.string().regex(/^[A-Z]{2,4}$/, 'a DICOM modality code such as CT')).optional(),
  })
  .strict();
export type RoleRule = z.infer<typeof RoleRuleSchema>;
export type RoleRuleInput = z.input<typeof RoleRuleSchema>;

export const ROLLOUT_MODES = ['off', 'silent', 'assistive'] as const;
export type RolloutMode = (typeof ROLLOUT_MODES)[number];

export const PolicySchema = z
  .object({
    /** Per-role visibility rules. Keys must be known roles, so a typo cannot silently open a door. */
    roles: z.partialRecord(z.enum(ROLES), RoleRuleSchema),
  })
  .strict();
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

/** Critical finding types for the on-call ER attending. SNOMED CT where known to the demo models. */
export const CRITICAL_FINDING_TYPES: TypeRef[] = [
  { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
  { value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax (incl. tension pneumothorax)' },
  { value: '308546005', scheme: 'SCT', meaning: 'Dissection of aorta' },
];

/**
 * Who signs and who gives verdicts is NOT part of the editable policy, on purpose: mandatory
 * verification (issue 7.6) needs an attending radiologist's act before any AI finding reaches a
 * verified SR or a final HL7 result, and no settings change may weaken that. Residents give
 * verdicts (recorded with their role) but do not sign; an attending signs the study off.
 */
export const SIGN_OFF_ROLES: readonly Role[] = rolesFor('study.signoff');
export const VERDICT_ROLES: readonly Role[] = rolesFor('findings.verdict');

/**
 * Defaults from issue 7. The resident's "priority rules" are the triage severities that flag a study
 * (critical and urgent): routine findings wait for the attending.
 */
export const DEFAULT_POLICY: Policy = PolicySchema.parse({
  roles: {
    radiologist: { kinds: ['diagnostic', 'quality'], minConfidence: 0 },
    resident: { kinds: ['diagnostic', 'quality'], minConfidence: 0.92, severities: ['critical', 'urgent'] },
    'er-attending': { kinds: ['diagnostic'], minConfidence: 0, findingTypes: CRITICAL_FINDING_TYPES },
    technologist: { kinds: ['quality'], minConfidence: 0 },
    // admin and ai-governance: no clinical reading (no rule = nothing). Governance gets figures, not findings.
  },
} satisfies PolicyInput);

export interface FilterContext {
  /** Primary modality of the study (e.g. CT); unknown modality fails any modality restriction. */
  modality?: string | null;
}

export function ruleFor(policy: Policy, role: string): RoleRule | null {
  if (!(ROLES as readonly string[]).includes(role)) return null;
  return policy.roles[role as Role] ?? null;
}

export function canSeeFinding(policy: Policy, role: string, f: Finding, ctx: FilterContext = {}): boolean {
  const rule = ruleFor(policy, role);
  if (!rule) return false;
  if (!rule.kinds.includes(f.kind)) return false;
  // Human findings (a radiologist's own) are not AI output: the confidence threshold does not apply.
  if (f.source !== 'radiologist' && f.confidence < rule.minConfidence) return false;
  if (rule.severities && !rule.severities.includes(f.severity)) return false;
  if (rule.findingTypes && !rule.findingTypes.some((t) => t.value === f.type.value && t.scheme === f.type.scheme)) return false;
  if (rule.modalities && !(ctx.modality && rule.modalities.includes(ctx.modality))) return false;
  return true;
}

export function filterFindingsForRole(policy: Policy, role: string, findings: readonly Finding[], ctx: FilterContext = {}): Finding[] {
  return findings.filter((f) => canSeeFinding(policy, role, f, ctx));
}

export function maySignOff(role: string): boolean {
  return can(role, 'study.signoff');
}

export function mayGiveVerdict(role: string): boolean {
  return can(role, 'findings.verdict');
}

/** A finding produced by a model (any source but a radiologist's own hand). */
export function isAiFinding(f: Finding): boolean {
  return f.source !== 'radiologist';
}

export interface RolloutTable {
  /** Mode per model name. */
  modes: Record<string, RolloutMode>;
  /** Mode of a model nobody has configured yet. */
  defaultMode: RolloutMode;
}

export function rolloutModeOf(rollout: RolloutTable, modelName: string): RolloutMode {
  return rollout.modes[modelName] ?? rollout.defaultMode;
}

/** Silent and off models' findings are kept (and counted for governance) but never returned to readers. */
export function visibleToReaders(findings: readonly Finding[], rollout: RolloutTable): Finding[] {
  return findings.filter((f) => !isAiFinding(f) || rolloutModeOf(rollout, f.model.name) === 'assistive');
}

export function describePolicyIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export function parsePolicy(input: unknown): { ok: true; value: Policy } | { ok: false; errors: string[] } {
  const r = PolicySchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: describePolicyIssues(r.error) };
}

/** Why a radiologist switches AI off for one study: a short list, so it can be chosen without typing. */
export const AI_DISABLE_REASONS = {
  'patient-declined': 'Patient declined AI analysis',
  'outside-clinical-context': 'AI not appropriate for the clinical question',
  'poor-image-quality': 'Image quality unsuitable for AI',
  'known-model-failure': 'Known model failure for this case type',
  'research-protocol': 'Research protocol: read without AI',
} as const;
export type AiDisableReason = keyof typeof AI_DISABLE_REASONS;
