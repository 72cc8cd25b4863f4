/**
 * Access control, decided on the route the router matched (never on a prefix of the raw URL):
 *
 * 1. An ambiguous path (`/%61pi/...`, `%2f`, `//`, dot segments, backslashes) is refused with 400
 *    before anything else, so there is one spelling per route (gateway/auth/path-guard.ts).
 * 2. Every route declares `config.permission` (an action of the one permission table,
 *    src/core/auth/permissions.ts) or `config.public: true`; registering a route with neither (or both,
 *    or an unknown action) throws, so the gateway refuses to start. Files of the built viewer are
 *    public by design and recognised as such.
 * 3. A public route runs as is. Otherwise: no valid session → 401; a state-changing method
 *    (not GET/HEAD/OPTIONS) without the session's CSRF token in `x-csrf-token` → 403; a role the table
 *    does not list for the route's action → 403, audited ('access-denied').
 * 4. A request that matched no route goes to the not-found handler, which answers 404 (or the app's
 *    index.html for a page path) and never data.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../db/database.js';
import type { GatewayConfig } from '../config.js';
import { resolveSession, createSession, destroySession, SESSION_COOKIE, type ResolvedSession } from './sessions.js';
import { verifyLogin } from './passwords.js';
import { appendAudit } from '../audit/audit.js';
import { can, type Permission } from '../../src/core/auth/permissions.js';
import { z } from 'zod';
import { createLoginThrottle } from './throttle.js';
import { ambiguousPathReason } from './path-guard.js';
import { assertRouteDeclared, type RouteAccess } from './route-access.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: ResolvedSession | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
    /** The action this route performs, from the one permission table (src/core/auth/permissions.ts). */
    permission?: Permission;
  }
}

const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });
const MAX_FAILED = 5;
const LOCK_MS = 5 * 60_000;
/** Failed log-ins per client IP before that IP is throttled (env LOGIN_MAX_FAILURES_PER_IP, LOGIN_THROTTLE_WINDOW_MS). */
const IP_MAX_FAILURES = Number(process.env.LOGIN_MAX_FAILURES_PER_IP ?? 20);
const IP_WINDOW_MS = Number(process.env.LOGIN_THROTTLE_WINDOW_MS ?? 10 * 60_000);

export function requireUser(req: FastifyRequest): ResolvedSession {
  if (!req.session) throw Object.assign(new Error('not authenticated'), { statusCode: 401 });
  return req.session;
}

export async function registerAuth(app: FastifyInstance, store: Store, config: GatewayConfig): Promise<void> {
  const { db } = store;
  // In the database: every gateway sharing it counts the same failures.
  const throttle = createLoginThrottle(db, { scope: 'ip', maxFailures: IP_MAX_FAILURES, windowMs: IP_WINDOW_MS });
  // Names that are no user lock out like users do (same count, same answer): the lock-out tells no one which names exist.
  const unknownNames = createLoginThrottle(db, { scope: 'name', maxFailures: MAX_FAILED, windowMs: LOCK_MS });
  app.decorateRequest('session', null);

  // Deny by default at registration: a route that declares neither a permission nor `public` stops the start.
  app.addHook('onRoute', (r) => {
    assertRouteDeclared(r, config.staticDir);
  });

  app.addHook('onRequest', async (req, reply) => {
    const bad = ambiguousPathReason(req.raw.url ?? '');
    if (bad) return reply.code(400).send({ error: `refused: ${bad}` });
    req.session = await resolveSession(db, req.cookies[SESSION_COOKIE]);
    // No route matched: the not-found handler answers (404, or the app's index.html for a page path).
    if (req.is404) return;
    const access: RouteAccess = assertRouteDeclared({ url: req.routeOptions.url ?? '', method: req.method, config: req.routeOptions.config }, config.staticDir);
    if (access.public) return;
    if (!req.session) return reply.code(401).send({ error: 'authentication required' });
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && req.headers['x-csrf-token'] !== req.session.csrf) {
      return reply.code(403).send({ error: 'missing or wrong CSRF token (x-csrf-token header)' });
    }
    if (!can(req.session.user.role, access.permission)) {
      await appendAudit(db, { actor: req.session.user.username, role: req.session.user.role, action: 'access-denied', outcome: 4, detail: { method: req.method, route: req.routeOptions.url, permission: access.permission } });
      return reply.code(403).send({ error: `role ${req.session.user.role} may not ${access.permission} (${req.method} ${req.routeOptions.url})` });
    }
  });

  app.post('/api/auth/login', { config: { public: true } }, async (req, reply) => {
    const parsed = LoginBody.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: 'username and password are required' });
    const { username, password } = parsed.data;
    const wait = await throttle.retryAfter(req.ip);
    if (wait > 0) {
      await appendAudit(db, { actor: username, action: 'login', outcome: 4, detail: { reason: 'throttled', ip: req.ip } });
      return reply.code(429).header('retry-after', String(wait)).send({ error: `too many failed log-ins from this address; try again in ${wait} s` });
    }
    const user = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    const now = new Date();
    if ((user?.locked_until && user.locked_until > now.toISOString()) || (!user && (await unknownNames.retryAfter(username)) > 0)) {
      await appendAudit(db, { actor: username, action: 'login', outcome: 4, detail: { reason: 'locked' } });
      return reply.code(429).send({ error: 'too many failed log-ins; try again later' });
    }
    // Unknown users are checked against a dummy hash: the same scrypt cost, so timing reveals no user names.
    if (!(await verifyLogin(password, user?.password_hash)) || !user) {
      if (user) {
        // Counted in the database (failed_logins + 1 in one statement): concurrent tries, on one gateway
        // or several, each count; the lock is set by whichever reaches the limit.
        const { failed_logins: failed } = await db
          .updateTable('users')
          .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
          .where('id', '=', user.id)
          .returning('failed_logins')
          .executeTakeFirstOrThrow();
        if (failed >= MAX_FAILED) await db.updateTable('users').set({ locked_until: new Date(now.getTime() + LOCK_MS).toISOString() }).where('id', '=', user.id).execute();
      } else await unknownNames.recordFailure(username);
      await throttle.recordFailure(req.ip);
      await appendAudit(db, { actor: username, action: 'login', outcome: 4, detail: { reason: 'bad credentials' } });
      return reply.code(401).send({ error: 'wrong username or password' });
    }
    await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', user.id).execute();
    const s = await createSession(db, user.id, config.sessionTtlMs, config.sessionIdleMs);
    await appendAudit(db, { actor: user.username, role: user.role, action: 'login' });
    reply.setCookie(SESSION_COOKIE, s.token, { httpOnly: true, sameSite: 'strict', path: '/', secure: config.secureCookies, expires: new Date(s.expiresAt) });
    return { user: { username: user.username, displayName: user.display_name, role: user.role }, csrfToken: s.csrf };
  });

  app.post('/api/auth/logout', { config: { permission: 'session.self' } }, async (req, reply) => {
    const s = requireUser(req);
    await destroySession(db, s.id);
    await appendAudit(db, { actor: s.user.username, role: s.user.role, action: 'logout' });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/auth/me', { config: { permission: 'session.self' } }, async (req) => {
    const s = requireUser(req);
    return { user: { username: s.user.username, displayName: s.user.displayName, role: s.user.role }, csrfToken: s.csrf };
  });
}
