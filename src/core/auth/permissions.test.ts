import { describe, expect, it } from 'vitest';
import { ROLES } from './roles.js';
import { ADMIN_PAGE_ACTIONS, PERMISSIONS, PERMISSION_NAMES, can, canAny, isPermission, rolesFor } from './permissions.js';
import { ALERT_ROLES, NON_DIAGNOSTIC_ROLES, receivesAlerts } from '../triage/alerts.js';
import { SIGN_OFF_ROLES, VERDICT_ROLES, maySignOff, mayGiveVerdict } from '../policy/policy.js';

describe('the one permission table', () => {
  it('names only known roles, each at most once, and every action the issue lists', () => {
    for (const a of PERMISSION_NAMES) {
      const roles = rolesFor(a);
      for (const r of roles) expect(ROLES, `${a}: ${r}`).toContain(r);
      expect(new Set(roles).size, a).toBe(roles.length);
    }
    for (const a of ['findings.read', 'findings.verdict', 'findings.import', 'study.signoff', 'study.ai-disable', 'preread.control', 'dicomweb.store', 'users.admin', 'audit.export', 'governance.read']) expect(isPermission(a), a).toBe(true);
  });

  it('denies by default: unknown roles, unknown actions, prototype names, empty values', () => {
    for (const role of ['superuser', '', 'constructor', '__proto__', 'toString', null, undefined]) for (const a of PERMISSION_NAMES) expect(can(role, a), `${String(role)} ${a}`).toBe(false);
    for (const a of ['everything', 'constructor', '__proto__', 'hasOwnProperty', '']) {
      expect(isPermission(a), a).toBe(false);
      expect(can('admin', a as never), a).toBe(false);
    }
  });

  it('the separations the product rests on', () => {
    expect(rolesFor('study.signoff')).toEqual(['radiologist']);
    expect(can('resident', 'study.signoff')).toBe(false);
    expect(can('technologist', 'findings.verdict')).toBe(false);
    expect(can('admin', 'findings.verdict')).toBe(false);
    expect(rolesFor('dicomweb.store')).toEqual(['radiologist']);
    for (const r of ROLES) if (r !== 'admin') expect(can(r, 'users.admin'), r).toBe(false);
    expect(can('ai-governance', 'findings.read')).toBe(false);
    expect(can('ai-governance', 'dicomweb.read')).toBe(false);
  });

  it('core role lists are derived from the table, not kept beside it', () => {
    expect([...ALERT_ROLES]).toEqual([...PERMISSIONS['alerts.read']]);
    expect([...SIGN_OFF_ROLES]).toEqual([...PERMISSIONS['study.signoff']]);
    expect([...VERDICT_ROLES]).toEqual([...PERMISSIONS['findings.verdict']]);
    for (const r of ROLES) {
      expect(receivesAlerts(r), r).toBe(can(r, 'alerts.read'));
      expect(maySignOff(r), r).toBe(can(r, 'study.signoff'));
      expect(mayGiveVerdict(r), r).toBe(can(r, 'findings.verdict'));
      expect(NON_DIAGNOSTIC_ROLES.includes(r), r).toBe(!can(r, 'triage.read'));
      expect(canAny(r, ADMIN_PAGE_ACTIONS), r).toBe(r === 'admin' || r === 'ai-governance');
    }
    expect(NON_DIAGNOSTIC_ROLES).toContain('technologist');
  });
});
