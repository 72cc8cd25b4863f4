/**
 * Radiologist verdicts on findings as a pure state transition. The gateway stores the result and
 * the before/after pair (for undo and audit); the viewer uses the same function for optimistic display.
 */
import { z } from 'zod';
import { BoxSchema, CodeSchema, FindingSchema, LIMITS, REJECT_REASONS, RegionSchema, SEVERITIES, describeIssues, type Finding, type ParseResult } from './finding.js';

export const VerdictRequestSchema = z
  .object({
    action: z.enum(['accept', 'reject', 'modify', 'undo']),
    reason: z.enum(REJECT_REASONS).optional(),
    note: z.string().max(LIMITS.note, `at most ${LIMITS.note} characters`).optional(),
    changes: z
      .object({
        type: CodeSchema.optional(),
        label: z.string().min(1).max(LIMITS.label, `at most ${LIMITS.label} characters`).optional(),
        severity: z.enum(SEVERITIES).optional(),
        /** Replace the geometry: full region list (same images or a changed slice range). */
        regions: z.array(RegionSchema).min(1).max(LIMITS.regions).optional(),
        /** Shortcut for the common edit: a new box on one region (default the first). */
        box: BoxSchema.optional(),
        regionIndex: z.number().int().min(0).max(LIMITS.regions).optional(),
        extent: z.object({ firstSopInstanceUID: z.string().min(1).max(64), lastSopInstanceUID: z.string().min(1).max(64) }).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.action === 'modify' && (!v.changes || Object.keys(v.changes).length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['changes'], message: 'modify needs at least one change (type, label, severity, regions, box or extent)' });
    }
    if (v.action !== 'modify' && v.changes) ctx.addIssue({ code: 'custom', path: ['changes'], message: `changes are only allowed with action modify` });
    if (v.action !== 'reject' && v.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a reason is only allowed with action reject' });
  });
export type VerdictRequest = z.infer<typeof VerdictRequestSchema>;

export function parseVerdictRequest(input: unknown): ParseResult<VerdictRequest> {
  const r = VerdictRequestSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: describeIssues(r.error) };
}

export interface Actor {
  username: string;
  role: string;
}

/** Id of the finding that replaces an AI original when it is modified (stable, so undo/redo reuse it). */
export function modifiedId(originalId: string): string {
  return `${originalId.slice(0, 120)}~mod`;
}

/**
 * accept / reject / modify (undo is handled by the store, which keeps the before state).
 * A modified finding is a new finding (source radiologist, status modified) whose `originalId`
 * links to the AI original; modifying an already modified finding edits it in place and keeps the link.
 */
export function applyVerdict(f: Finding, req: Exclude<VerdictRequest, { action: 'undo' }> | VerdictRequest, actor: Actor, at: string): ParseResult<Finding> {
  const verdict = { by: actor.username, role: actor.role, at, ...(req.reason ? { reason: req.reason } : {}), ...(req.note ? { note: req.note } : {}) };
  let next: unknown;
  if (req.action === 'accept') next = { ...f, status: 'accepted', verdict };
  else if (req.action === 'reject') next = { ...f, status: 'rejected', verdict };
  else if (req.action === 'modify') {
    const c = req.changes ?? {};
    let regions = c.regions ?? f.regions;
    if (c.box) {
      const i = c.regionIndex ?? 0;
      if (!regions[i]) return { ok: false, errors: [`changes.regionIndex: finding has no region ${i}`] };
      regions = regions.map((r, k) => (k === i ? { ...r, box: c.box } : r));
    }
    // Already a modification (even if later accepted): edit in place, keep the link to the AI original.
    const originalId = f.originalId ?? f.id;
    next = {
      ...f,
      id: f.originalId ? f.id : modifiedId(f.id),
      type: c.type ?? f.type,
      label: c.label ?? (c.type ? c.type.meaning : f.label),
      severity: c.severity ?? f.severity,
      regions,
      extent: c.extent ?? f.extent,
      status: 'modified',
      originalId,
      verdict,
    };
  } else return { ok: false, errors: ['action: undo is not a state transition of the finding'] };
  const r = FindingSchema.safeParse(next);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: describeIssues(r.error) };
}
