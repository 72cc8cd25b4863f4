/**
 * Server-side sessions: a random token in an HTTP-only SameSite=Strict cookie, a CSRF token per session.
 * The database holds only the SHA-256 of the cookie's token (someone who reads the sessions table, or a
 * backup of it, cannot take over a session). A session ends at its absolute expiry or after
 * `idleMs` without a request (sliding: every request moves the idle deadline), whichever comes first.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { Role, SessionUser } from '../../src/core/auth/roles.js';

export const SESSION_COOKIE = 'rs_session';
/** Default idle timeout (env SESSION_IDLE_MS). */
export const DEFAULT_IDLE_MS = 30 * 60_000;

/** The sessions table's key for a cookie token. */
export function sessionKey(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** `token` goes into the cookie and is never stored; the row is keyed by its hash. */
export async function createSession(
  db: Kysely<DB>,
  userId: number,
  ttlMs: number,
  idleMs: number = DEFAULT_IDLE_MS,
): Promise<{ token: string; id: string; csrf: string; expiresAt: string }> {
  const token = crypto.randomBytes(32).toString('base64url');
  const csrf = crypto.randomBytes(24).toString('base64url');
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
  const id = sessionKey(token);
  await db
    .insertInto('sessions')
    .values({ id, user_id: userId, csrf_token: csrf, created_at: now.toISOString(), expires_at: expiresAt, last_seen_at: now.toISOString(), idle_ms: Number.isFinite(idleMs) && idleMs > 0 ? Math.round(idleMs) : DEFAULT_IDLE_MS })
    .execute();
  return { token, id, csrf, expiresAt };
}

export interface ResolvedSession {
  /** The row key (the token's hash), for destroySession; never the cookie's value. */
  id: string;
  csrf: string;
  user: SessionUser;
}

/** Resolves a cookie token; null when unknown, expired or idle too long (an expired row is deleted). */
export async function resolveSession(db: Kysely<DB>, token: string | undefined, now: Date = new Date()): Promise<ResolvedSession | null> {
  if (!token || token.length > 256) return null;
  const id = sessionKey(token);
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id as sid', 'sessions.csrf_token', 'sessions.expires_at', 'sessions.last_seen_at', 'sessions.idle_ms', 'users.id as uid', 'users.username', 'users.display_name', 'users.role'])
    .where('sessions.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  const idleMs = row.idle_ms ?? DEFAULT_IDLE_MS;
  const lastSeen = row.last_seen_at ? Date.parse(row.last_seen_at) : 0;
  if (row.expires_at < now.toISOString() || !(now.getTime() - lastSeen < idleMs)) {
    await db.deleteFrom('sessions').where('id', '=', id).execute();
    return null;
  }
  // Slide the idle deadline; at most one write per tenth of the idle time (and per minute), not per request.
  if (now.getTime() - lastSeen >= Math.min(60_000, idleMs / 10)) {
    await db.updateTable('sessions').set({ last_seen_at: now.toISOString() }).where('id', '=', id).execute();
  }
  return { id: row.sid, csrf: row.csrf_token, user: { id: row.uid, username: row.username, displayName: row.display_name, role: row.role as Role } };
}

/** Ends a session by its row key (ResolvedSession.id). */
export async function destroySession(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}
