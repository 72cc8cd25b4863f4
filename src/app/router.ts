/** A tiny history router: four routes do not need a routing library in the first-image path. */
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
function emit(): void {
  for (const l of listeners) l();
}
window.addEventListener('popstate', emit);

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  emit();
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

export function useLocation(): { pathname: string; search: URLSearchParams } {
  const s = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    snapshot,
    snapshot,
  );
  const u = new URL(s, window.location.origin);
  return { pathname: u.pathname, search: u.searchParams };
}

export type Route =
  | { name: 'login' }
  | { name: 'worklist' }
  | { name: 'viewer'; studyUID: string }
  | { name: 'admin' }
  | { name: 'governance' }
  | { name: 'not-found'; pathname: string };

export function matchRoute(pathname: string): Route {
  if (pathname === '/login') return { name: 'login' };
  if (pathname === '/' || pathname === '') return { name: 'worklist' };
  if (pathname === '/admin') return { name: 'admin' };
  if (pathname === '/governance') return { name: 'governance' };
  const m = /^\/viewer\/([0-9.]+)\/?$/.exec(pathname);
  if (m) return { name: 'viewer', studyUID: m[1] };
  return { name: 'not-found', pathname };
}
