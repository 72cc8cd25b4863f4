/**
 * The findings lifecycle's acts, each complete: database change, audit, domain event (and for the
 * sign-off the outbox, in its transaction). Routes are thin over these, and the lifecycle sequence
 * test drives exactly these, so what is tested is what runs.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { DomainEvents } from '../context.js';
import type { SessionUser } from '../../src/core/auth/roles.js';
import type { VerdictRequest } from '../../src/core/findings/verdict.js';
import { appendAudit } from '../audit/audit.js';
import { onStudySignedOff } from '../outbox/events.js';
import { recordVerdict, signOffStudy, type SignoffOutcome, type VerdictOutcome } from './repository.js';

export interface FindingsDeps {
  db: Kysely<DB>;
  events?: DomainEvents;
}

const AUDIT_ACTION = { accept: 'finding-accepted', reject: 'finding-rejected', modify: 'finding-modified', undo: 'finding-verdict-undone' } as const;

/** A verdict (or undo) by a user: who and when are the server's. Refusals (409) are audited too. */
export async function giveVerdict(deps: FindingsDeps, id: string, req: VerdictRequest, user: Pick<SessionUser, 'username' | 'role'>): Promise<VerdictOutcome> {
  const { db } = deps;
  const out = await recordVerdict(db, id, req, { username: user.username, role: user.role }, new Date().toISOString());
  if (!out.ok) {
    if (out.status === 409) await appendAudit(db, { actor: user.username, role: user.role, action: `finding-${req.action}`, outcome: 4, findingId: id, detail: { refused: out.error } });
    return out;
  }
  await appendAudit(db, {
    actor: user.username,
    role: user.role,
    action: AUDIT_ACTION[out.action],
    studyUID: out.finding.studyInstanceUID,
    findingId: out.finding.id,
    detail: {
      from: out.before.status,
      to: out.finding.status,
      ...(out.before.id !== out.finding.id ? { replaces: out.before.id } : {}),
      ...(out.undoneAction ? { undid: out.undoneAction } : {}),
      ...(out.finding.originalId ? { originalId: out.finding.originalId } : {}),
      ...(req.reason ? { reason: req.reason } : {}),
    },
  });
  deps.events?.emit('findings-changed', { studyUID: out.finding.studyInstanceUID, cause: out.action === 'undo' ? 'undo' : 'verdict', actor: user.username });
  return out;
}

/**
 * Sign-off: refused (409, listing them) while findings are unverified unless `confirmUnverified`;
 * records which were left unverified; the verified SR and the final ORU are enqueued in the same
 * transaction; audited; 'study-signed-off' emitted after the commit.
 * (That the study exists at all is the route's check: it needs the PACS.)
 */
export async function signOff(
  deps: FindingsDeps,
  e: { studyUID: string; user: SessionUser; confirmUnverified?: boolean; mustConfirm?: (id: string) => boolean },
): Promise<SignoffOutcome> {
  const { db } = deps;
  const { user, studyUID } = e;
  const out = await signOffStudy(
    db,
    studyUID,
    { username: user.username, role: user.role },
    new Date().toISOString(),
    async (trx, findings, signoff) => {
      // Same transaction: the sign-off is never recorded without its verified SR + final ORU in the outbox.
      // Unverified AI findings are not part of the verified report; rejected ones are (as "absent").
      const reported = findings.filter((f) => f.status !== 'ai-unverified');
      await onStudySignedOff(trx, { studyInstanceUID: studyUID, findings: reported, user, signedAt: signoff.signed_at });
    },
    { confirmUnverified: e.confirmUnverified === true, ...(e.mustConfirm ? { mustConfirm: (f) => e.mustConfirm!(f.id) } : {}) },
  );
  if (!out.ok) {
    if (out.unverified) await appendAudit(db, { actor: user.username, role: user.role, action: 'study-signoff-needs-confirmation', outcome: 4, studyUID, detail: { unverifiedIds: out.unverified.map((f) => f.id) } });
    return out;
  }
  await appendAudit(db, {
    actor: user.username,
    role: user.role,
    action: 'study-signed-off',
    studyUID,
    detail: {
      verified: out.signoff.verified_count,
      unverified: out.signoff.unverified_count,
      rejected: out.signoff.rejected_count,
      unverifiedIds: JSON.parse(out.signoff.unverified_ids) as string[],
      confirmedUnverified: e.confirmUnverified === true,
    },
  });
  deps.events?.emit('study-signed-off', { studyUID, actor: user.username });
  return out;
}
