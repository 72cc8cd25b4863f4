/** Server-side sessions: random id in an HTTP-only SameSite=Strict cookie, CSRF token per session. */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { Role, SessionUser } from '../../src/core/auth/roles.js';

export const SESSION_COOKIE = 'rs_session';

export async function createSession(db: Kysely<DB>, userId: number, ttlMs: number): Promise<{ id: string; csrf: string; expiresAt: string }> {
  const id = crypto.randomBytes(32).toString('base64url');
  const csrf = crypto.randomBytes(24).toString('base64url');
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
  await db.insertInto('sessions').values({ id, user_id: userId, csrf_token: csrf, created_at: now.toISOString(), expires_at: expiresAt }).execute();
  return { id, csrf, expiresAt };
}

export interface ResolvedSession {
  id: string;
  csrf: string;
  user: SessionUser;
}

export async function resolveSession(db: Kysely<DB>, id: string | undefined): Promise<ResolvedSession | null> {
  if (!id) return null;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id as sid', 'sessions.csrf_token', 'sessions.expires_at', 'users.id as uid', 'users.username', 'users.display_name', 'users.role'])
    .where('sessions.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  if (row.expires_at < new Date().toISOString()) {
    await db.deleteFrom('sessions').where('id', '=', id).execute();
    return null;
  }
  return { id: row.sid, csrf: row.csrf_token, user: { id: row.uid, username: row.username, displayName: row.display_name, role: row.role as Role } };
}

export async function destroySession(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}
