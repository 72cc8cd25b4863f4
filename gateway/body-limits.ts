/**
 * Length limits on what clients send to be stored. Every JSON request body is checked before any route
 * sees it: a string longer than `maxString` characters (default 16384: a dictated report fits, a
 * megabyte does not), anywhere in the body, is refused with 400 naming its path; a route may set its own
 * bound (`config: { maxBodyString }`). Routes also bound their own fields with zod `.max()`; this is the floor under
 * all of them (and under routes added later), so no request can put a megabyte "label" into the database.
 * Bodies that are streams (DICOMweb STOW) are not JSON and are not touched here.
 */
import type { FastifyInstance } from 'fastify';

export const MAX_BODY_STRING = 16_384;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Longest string this route accepts anywhere in its JSON body (default MAX_BODY_STRING). */
    maxBodyString?: number;
  }
}

/** The path of the first over-long string in a parsed JSON value, or null. */
export function overlongString(v: unknown, max: number, path = '$', seen = { n: 0 }): string | null {
  if (++seen.n > 1_000_000) return path; // absurdly many values: refuse as well
  if (typeof v === 'string') return v.length > max ? path : null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = overlongString(v[i], max, `${path}[${i}]`, seen);
      if (r) return r;
    }
    return null;
  }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.length > max) return `${path}.<key>`;
      const r = overlongString(x, max, `${path}.${k.length <= 64 ? k : k.slice(0, 64) + '…'}`, seen);
      if (r) return r;
    }
  }
  return null;
}

export function registerBodyLimits(app: FastifyInstance, opts: { maxString?: number } = {}): void {
  const max = opts.maxString ?? MAX_BODY_STRING;
  app.addHook('preValidation', async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || typeof (body as { pipe?: unknown }).pipe === 'function' || Buffer.isBuffer(body)) return;
    const limit = req.routeOptions.config?.maxBodyString ?? max;
    const at = overlongString(body, limit);
    if (at) return reply.code(400).send({ error: `${at}: longer than ${limit} characters` });
  });
}
