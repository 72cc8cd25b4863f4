/** Who is told about critical findings, and who never sees diagnostic content. Shared by gateway and UI. */
import { ROLES, type Role } from '../auth/roles.js';
import { can, rolesFor } from '../auth/permissions.js';

/** Roles that receive critical-finding alerts (the on-call ER attending, and radiologists): from the one permission table. */
export const ALERT_ROLES: readonly Role[] = rolesFor('alerts.read');

/** Roles that never get priorities or reasons (they may get AI state): every role without triage.read. */
export const NON_DIAGNOSTIC_ROLES: readonly Role[] = ROLES.filter((r) => !can(r, 'triage.read'));

export function receivesAlerts(role: Role): boolean {
  return can(role, 'alerts.read');
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
