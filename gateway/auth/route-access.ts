/**
 * What a route declares about access, checked when it is registered (so a route without a declaration
 * makes the gateway refuse to start) and read again by the auth hook for the route a request matched.
 */
import path from 'node:path';
import { isPermission, type Permission } from '../../src/core/auth/permissions.js';

export type RouteAccess = { public: true; permission?: undefined } | { public: false; permission: Permission };

interface RouteLike {
  url?: string;
  method?: string | string[];
  config?: unknown;
}

/** A file of the built viewer, registered by @fastify/static (which sets `config.rootPath` to the served root). */
function isViewerFile(config: Record<string, unknown>, staticDir: string | undefined): boolean {
  if (!staticDir || typeof config.rootPath !== 'string' || typeof config.file !== 'string') return false;
  return path.resolve(config.rootPath) === path.resolve(staticDir);
}

export function assertRouteDeclared(r: RouteLike, staticDir?: string): RouteAccess {
  const c = (r.config ?? {}) as Record<string, unknown>;
  const name = `${Array.isArray(r.method) ? r.method.join(',') : (r.method ?? '?')} ${r.url ?? '?'}`;
  if ('roles' in c) throw new Error(`route ${name}: config.roles is gone; declare config.permission from src/core/auth/permissions.ts`);
  const declaredPublic = c.public === true;
  if (c.permission !== undefined && !isPermission(c.permission)) throw new Error(`route ${name}: unknown permission ${JSON.stringify(c.permission)} (not in src/core/auth/permissions.ts)`);
  if (declaredPublic && c.permission !== undefined) throw new Error(`route ${name}: declares both public and permission ${String(c.permission)}`);
  if (declaredPublic || isViewerFile(c, staticDir)) return { public: true };
  if (isPermission(c.permission)) return { public: false, permission: c.permission };
  throw new Error(`route ${name} declares neither config.permission nor config.public: every route must (deny by default)`);
}
