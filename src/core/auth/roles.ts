/** Roles carried by every user. What each may see and do is enforced by the gateway (see gateway/auth). */
export const ROLES = ['radiologist', 'resident', 'er-attending', 'technologist', 'admin', 'ai-governance'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  radiologist: 'Radiologist (attending)',
  resident: 'Resident',
  'er-attending': 'ER attending (on call)',
  technologist: 'Technologist',
  admin: 'Administrator',
  'ai-governance': 'AI governance',
};

export interface SessionUser {
  id: number;
  username: string;
  displayName: string;
  role: Role;
}

/** Demo log-ins, seeded only in demo mode. The README lists them. */
export const DEMO_USERS: { username: string; displayName: string; role: Role; password: string }[] = [
  { username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist', password: 'rita-demo' },
  { username: 'remy', displayName: 'Resident^Remy', role: 'resident', password: 'remy-demo' },
  { username: 'erin', displayName: 'Emergency^Erin^^Dr.', role: 'er-attending', password: 'erin-demo' },
  { username: 'toby', displayName: 'Tech^Toby', role: 'technologist', password: 'toby-demo' },
  { username: 'ada', displayName: 'Admin^Ada', role: 'admin', password: 'ada-demo' },
  { username: 'gus', displayName: 'Governance^Gus', role: 'ai-governance', password: 'gus-demo' },
];
