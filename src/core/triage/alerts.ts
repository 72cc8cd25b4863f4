/** Who is told about critical findings, and who never sees diagnostic content. Shared by gateway and UI. */
import type { Role } from '../auth/roles.js';

/** Roles that receive critical-finding alerts: the on-call ER attending, and radiologists. */
export const ALERT_ROLES: readonly Role[] = ['er-attending', 'radiologist'];

/** Roles that get AI state but never priorities, reasons or alerts. */
export const NON_DIAGNOSTIC_ROLES: readonly Role[] = ['technologist'];

export function receivesAlerts(role: Role): boolean {
  return ALERT_ROLES.includes(role);
}

export interface CriticalAlert {
  id: string;
  studyUID: string;
  priority: string;
  reason: string;
  createdAt: string;
  ackedBy: string | null;
  ackedAt: string | null;
  url: string;
}
