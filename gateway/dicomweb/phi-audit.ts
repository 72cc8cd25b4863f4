/**
 * PHI reads (the opening stream, QIDO, WADO-RS) are audited: one 'phi-read' record per
 * (session, study, kind) in a window, so the 28 frame requests of one stack make one record, not 28,
 * and a reader who comes back to the study after the window makes a new one. QIDO queries without a
 * study are keyed by their query text (a worklist polling the same query is one record per window).
 * Records carry UIDs and the kind of read, never patient data: a QIDO record names the query's keys,
 * not its values.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { appendAudit } from '../audit/audit.js';
import type { ResolvedSession } from '../auth/sessions.js';

export const PHI_READ_WINDOW_MS = 5 * 60_000;

export interface PhiReadAudit {
  /** Records the read unless the same (session, study, kind[, query]) was recorded within the window. */
  record(session: Pick<ResolvedSession, 'id' | 'user'>, studyUID: string | null, kind: string, query?: string): Promise<void>;
  stop(): void;
}

export function createPhiReadAudit(db: Kysely<DB>, windowMs = PHI_READ_WINDOW_MS): PhiReadAudit {
  const seen = new Map<string, number>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, t] of seen) if (now - t >= windowMs) seen.delete(k);
  }, Math.min(windowMs, 60_000));
  sweep.unref();
  return {
    async record(session, studyUID, kind, query = '') {
      const q = query.replace(/^\?/, '');
      const queryKey = q ? crypto.createHash('sha256').update(q).digest('hex').slice(0, 16) : '';
      // The session id is secret: key on a hash of it (the map is memory only, but keep it that way).
      const sid = crypto.createHash('sha256').update(session.id).digest('hex').slice(0, 16);
      const key = `${sid}|${studyUID ?? ''}|${kind}|${queryKey}`;
      const now = Date.now();
      const last = seen.get(key);
      if (last !== undefined && now - last < windowMs) return;
      seen.set(key, now);
      const keys = q ? [...new Set(q.split('&').map((p) => decodeURIComponentSafe(p.split('=')[0])))].filter(Boolean).sort() : undefined;
      try {
        await appendAudit(db, { actor: session.user.username, role: session.user.role, action: 'phi-read', studyUID, detail: { kind, ...(keys ? { queryKeys: keys } : {}) } });
      } catch (e) {
        seen.delete(key);
        throw e;
      }
    },
    stop() {
      clearInterval(sweep);
      seen.clear();
    },
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
