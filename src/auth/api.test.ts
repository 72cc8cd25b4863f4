/**
 * A live event stream that fails is closed for good only when the session has really ended (401 from
 * /api/auth/me), and the session is then marked signed out (the shell goes to log-in). An unreachable
 * gateway is not a log-out: the stream keeps its own reconnection and the session is left as it was.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeStreamIfSignedOut, getSession, login } from './api';

const stream = () => ({ close: vi.fn() });
const answer = (status: number, body: unknown = {}) => vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));

afterEach(() => {
  vi.unstubAllGlobals();
});

async function signIn() {
  vi.stubGlobal('fetch', answer(200, { user: { username: 'rita', displayName: 'Rita', role: 'radiologist' }, csrfToken: 't' }));
  await login('rita', 'pw');
  expect(getSession().status).toBe('signed-in');
}

describe('closeStreamIfSignedOut', () => {
  it('401: closes the stream and signs out', async () => {
    await signIn();
    const me = answer(401, { error: 'not signed in' });
    vi.stubGlobal('fetch', me);
    const es = stream();
    expect(await closeStreamIfSignedOut(es)).toBe(true);
    expect(me).toHaveBeenCalledWith('/api/auth/me', expect.anything());
    expect(es.close).toHaveBeenCalledTimes(1);
    expect(getSession()).toMatchObject({ status: 'signed-out', user: null, csrfToken: null });
  });

  it('session still valid: the stream is left to reconnect', async () => {
    await signIn();
    vi.stubGlobal('fetch', answer(200, { user: { username: 'rita' }, csrfToken: 't' }));
    const es = stream();
    expect(await closeStreamIfSignedOut(es)).toBe(false);
    expect(es.close).not.toHaveBeenCalled();
    expect(getSession().status).toBe('signed-in');
  });

  it('gateway unreachable: not a log-out', async () => {
    await signIn();
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('fetch failed'))));
    const es = stream();
    expect(await closeStreamIfSignedOut(es)).toBe(false);
    expect(es.close).not.toHaveBeenCalled();
    expect(getSession().status).toBe('signed-in');
  });
});
