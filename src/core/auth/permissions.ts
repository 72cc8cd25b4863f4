/**
 * The one permission table: every gateway route names one action from here (or is public), the
 * auth hook decides on it, and the UI reads the same table to show or hide controls. No role list
 * lives anywhere else. Deny by default: an action not in the table, or a role not in its list, is refused.
 */
import type { Role } from './roles.js';

const READERS = ['radiologist', 'resident', 'er-attending', 'technologist'] as const satisfies readonly Role[];
const CLINICAL = ['radiologist', 'resident', 'er-attending'] as const satisfies readonly Role[];

export const PERMISSIONS = {
  /** Log-out and "who am I": any signed-in user. */
  'session.self': ['radiologist', 'resident', 'er-attending', 'technologist', 'admin', 'ai-governance'],
  /** Study list, HL7 orders, the triage map and live events (AI state; diagnostic content is policy-filtered). */
  'worklist.read': [...READERS, 'admin'],
  /** Images: DICOMweb retrieves through the proxy and the opening stream. PHI reads are audited. */
  'dicomweb.read': [...READERS, 'admin'],
  /** STOW-RS through the gateway. Modalities store over DIMSE; this is for integrations. */
  'dicomweb.store': ['radiologist'],
  /** AI findings of a study (filtered by the role policy) and a finding's history. */
  'findings.read': [...READERS],
  /** Accept / modify / reject / undo a finding. Residents' verdicts are recorded with their role. */
  'findings.verdict': ['radiologist', 'resident'],
  /** Import findings from an integration or a radiologist's tool (the server stamps source, actor and time). */
  'findings.import': ['radiologist', 'admin'],
  /** Results of the in-browser AI, sent to the server's one ingestion path. */
  'findings.browser-ai': [...CLINICAL],
  /** A study's measurements (lengths, angles, ROIs, probes) as stored with it. */
  'measurements.read': [...READERS],
  /** Make, change and delete measurements (the server stamps who and when; refused after sign-off). */
  'measurements.write': ['radiologist', 'resident'],
  /** Sign off a study (writes the verified SR and the final ORU). */
  'study.signoff': ['radiologist'],
  /** A study's report: the draft being written and, after sign-off, the signed report and its addenda. */
  'report.read': ['radiologist', 'resident', 'er-attending'],
  /** Save the report draft (before sign-off). Residents draft; the radiologist signs. */
  'report.write': ['radiologist', 'resident'],
  /** An addendum to a signed report: a corrected result (ORU C) and a new SR that references the signed one. */
  'report.addendum': ['radiologist'],
  /** Switch AI off (or on) for one study, with a reason. */
  'study.ai-disable': ['radiologist'],
  /** A study's AI status (disabled, models, routing) and its pre-read jobs. */
  'study.ai-status': [...READERS, 'admin'],
  /**
   * Diagnostic triage content: a study's priority and its reason (worklist, pre-read state, live events).
   * Other roles with worklist.read (the technologist) get the AI state only.
   */
  'triage.read': ['radiologist', 'resident', 'er-attending', 'admin'],
  /** Critical-finding alerts: list and acknowledge. */
  'alerts.read': ['radiologist', 'er-attending'],
  'alerts.ack': ['radiologist', 'er-attending'],
  /** Installed models and their manifests (the browser's registry). */
  'models.read': [...READERS, 'admin', 'ai-governance'],
  /** Start / stop the inference workers. */
  'preread.control': ['admin'],
  /** Role policy, rollout modes, AI-disabled modalities. */
  'policy.read': ['admin', 'ai-governance'],
  'policy.write': ['admin'],
  /** Outbox and rejected HL7 (PHI): operations. */
  'outbox.admin': ['admin'],
  /** User accounts and roles. */
  'users.admin': ['admin'],
  /** Audit export (de-identified detail stays in the record). */
  'audit.export': ['admin', 'ai-governance'],
  /** The audit export names the actors; for every other role with audit.export they are pseudonymised. */
  'audit.identified-actors': ['admin'],
  /** Client-side events the viewer reports for the audit (AI hidden, finding zoomed...). */
  'audit.client-events': [...READERS],
  /** Per-model figures. */
  'governance.read': ['ai-governance', 'admin'],
  /** The governance alert rules (ranges per figure) and acknowledging their notices. */
  'governance.write': ['ai-governance', 'admin'],
  /**
   * Assessment SRs of verdicts as stored (DICOM, with the study's patient attributes): admin only.
   * Governance gets them de-identified (governance.deid-export).
   */
  'governance.assessment-export': ['admin'],
  /**
   * De-identified exports (PS3.15 Basic Profile, gateway/deid): the feedback dataset for retraining
   * (images, AI output, verdicts, corrected boxes) and the de-identified assessment SRs.
   */
  'governance.deid-export': ['ai-governance', 'admin'],
  /** Send a study (de-identified) to a remote model of the registry (gateway/external-ai). */
  'external-ai.send': ['radiologist', 'admin'],
  /** Prometheus metrics at /metrics (operations; route patterns and queue depths, no PHI). */
  'metrics.read': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(x: unknown): x is Permission {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(PERMISSIONS, x);
}

/** Deny by default: unknown action or role → false. */
export function can(role: string | null | undefined, action: Permission): boolean {
  if (!role || !isPermission(action)) return false;
  return (PERMISSIONS[action] as readonly string[]).includes(role);
}

export function rolesFor(action: Permission): readonly Role[] {
  return PERMISSIONS[action];
}

/** True when the role may perform at least one of the actions (e.g. whether to show the admin page at all). */
export function canAny(role: string | null | undefined, actions: readonly Permission[]): boolean {
  return actions.some((a) => can(role, a));
}

/** What the administration page offers; it is shown to a role that may do any of these. */
export const ADMIN_PAGE_ACTIONS: readonly Permission[] = ['users.admin', 'policy.read', 'governance.read', 'audit.export', 'outbox.admin'];
