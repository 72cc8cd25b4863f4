/**
 * The one way the browser talks to the gateway's /api. It keeps the session's CSRF token (from the
 * login response or GET /api/auth/me) and sends it on every state-changing request; the session
 * itself is an httpOnly cookie the browser sends on its own.
 */
import { useEffect, useSyncExternalStore } from 'react';
import type { Role } from '../core/auth/roles';

export interface SessionInfo {
  username: string;
  displayName: string;
  role: Role;
}

interface AuthState {
  user: SessionInfo | null;
  csrfToken: string | null;
  /** 'unknown' until /api/auth/me has answered once. */
  status: 'unknown' | 'signed-in' | 'signed-out';
}

let state: AuthState = { user: null, csrfToken: null, status: 'unknown' };
const listeners = new Set<() => void>();

function setState(next: Partial<AuthState>): void {
  state = { ...state, ...next };
  for (const l of listeners) l();
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function getSession(): AuthState {
  return state;
}

/** Thrown for any non-2xx answer, with the gateway's `error` text when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let mePromise: Promise<AuthState> | null = null;

/** Asks the gateway who we are (once at a time); a 401 means signed out. */
export function refreshSession(): Promise<AuthState> {
  mePromise ??= (async () => {
    try {
      const r = await fetch('/api/auth/me', { credentials: 'same-origin' });
      if (r.ok) {
        const body = (await r.json()) as { user: SessionInfo; csrfToken: string };
        setState({ user: body.user, csrfToken: body.csrfToken, status: 'signed-in' });
      } else {
        setState({ user: null, csrfToken: null, status: 'signed-out' });
      }
    } catch {
      setState({ user: null, csrfToken: null, status: 'signed-out' });
    } finally {
      mePromise = null;
    }
    return state;
  })();
  return mePromise;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * fetch() for /api and /dicom-web paths: same-origin cookie, CSRF header on writes, JSON content
 * type when the body is a plain string. A 401 marks the session signed out (the shell shows log-in).
 */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (!SAFE.has(method)) {
    if (!state.csrfToken) await refreshSession();
    if (state.csrfToken) headers.set('x-csrf-token', state.csrfToken);
    if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const res = await fetch(path, { ...init, method, headers, credentials: 'same-origin' });
  if (res.status === 401 && !path.startsWith('/api/auth/login')) setState({ user: null, csrfToken: null, status: 'signed-out' });
  return res;
}

/** apiFetch + JSON decode; non-2xx becomes an ApiError carrying the gateway's message. */
export async function apiJson<T = unknown>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await apiFetch(path, init);
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: string };
      if (body?.error) msg = body.error;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, msg);
  }
  return (await res.json()) as T;
}

export async function login(username: string, password: string): Promise<SessionInfo> {
  const body = await apiJson<{ user: SessionInfo; csrfToken: string }>('/api/auth/login', {
    method: 'POST',
    body: JSON.stringify({ username, password }),
  });
  setState({ user: body.user, csrfToken: body.csrfToken, status: 'signed-in' });
  return body.user;
}

export async function logout(): Promise<void> {
  try {
    await apiFetch('/api/auth/logout', { method: 'POST' });
  } finally {
    setState({ user: null, csrfToken: null, status: 'signed-out' });
  }
}

/**
 * For a live event stream (EventSource) that failed or was ended by the gateway: EventSource cannot see
 * the HTTP status, and on a 401 it would either stop silently or keep reconnecting. This asks the
 * gateway whether the session still holds: a 401 closes the stream for good and marks the session
 * signed out (the shell then goes to log-in); a gateway that is merely unreachable leaves the stream to
 * its own reconnection. Returns whether the session has ended.
 */
export async function closeStreamIfSignedOut(es: Pick<EventSource, 'close'>): Promise<boolean> {
  let r: Response;
  try {
    r = await fetch('/api/auth/me', { credentials: 'same-origin' });
  } catch {
    return false;
  }
  if (r.status !== 401) return false;
  es.close();
  setState({ user: null, csrfToken: null, status: 'signed-out' });
  return true;
}

/** The current session for React components; asks /api/auth/me on first use. */
export function useSession(): AuthState {
  const s = useSyncExternalStore(subscribe, getSession, getSession);
  useEffect(() => {
    if (state.status === 'unknown' && window.location.pathname !== '/login') void refreshSession();
  }, []);
  return s;
}
