/**
 * DICOMweb proxy to Orthanc. The browser never talks to Orthanc: it talks to /dicom-web here.
 * Bodies are streamed both ways (never buffered whole); Accept (and with it the transfer-syntax
 * negotiation) is passed through, so Orthanc returns the stored syntax with `transfer-syntax=*`.
 * Only DICOMweb resource paths are forwarded: anything else, or any path trying to climb out, is refused.
 *
 * - Retrieves (QIDO, WADO-RS) need `dicomweb.read` and are PHI reads: audited once per (session,
 *   study, kind) in a window (./phi-audit.ts).
 * - STOW-RS (POST /studies[/:study]) needs `dicomweb.store`, takes `multipart/related;
 *   type="application/dicom"` only (415 otherwise), and answers with Orthanc's own status and body
 *   (the stored and failed SOP instances), so a stored instance is never reported as a failure.
 * - The client's Host header is never passed on: Orthanc builds the URLs in its answers
 *   (BulkDataURI, RetrieveURL) from the `Forwarded` header we send, which names the configured public
 *   origin (or this listener's own address), never what the client claimed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable, Transform } from 'node:stream';
import type { GatewayConfig } from '../config.js';
import type { GatewayContext } from '../context.js';
import { registerOpening } from './opening.js';
import { createPhiReadAudit, type PhiReadAudit } from './phi-audit.js';
import { createProxyGuard, filterDicomJson } from '../objects/proxy-guard.js';
import { fetchOrthanc } from '../orthanc/http.js';

/** studies[/S[/series[/R[/instances[/I[/frames/N | /rendered | /metadata | /bulk/...]]]]]] and friends. */
const DICOMWEB_PATH = /^\/(studies|series|instances)(\/[0-9.]+(\/(series|instances|metadata|rendered|thumbnail|frames|bulk)(\/[0-9A-Za-z.,/]*)?)?)?$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;

export function isAllowedDicomWebPath(path: string): boolean {
  if (path.includes('..') || path.includes('//') || path.includes('\\') || /%2e|%2f|%5c/i.test(path)) return false;
  return DICOMWEB_PATH.test(path);
}

const PASS_REQUEST_HEADERS = ['accept', 'range', 'if-none-match'];
const PASS_RESPONSE_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified', 'content-range'];

/**
 * The origin the browser reaches this gateway at, for the URLs Orthanc writes into its answers:
 * the configured public origin, else the address this listener accepted the connection on.
 * Never the request's Host header (a client could make Orthanc point the viewer anywhere).
 */
export function publicOrigin(config: GatewayConfig, req: FastifyRequest): { host: string; proto: string } {
  if (config.publicOrigin) return parsePublicOrigin(config.publicOrigin);
  const addr = (req.raw.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const port = req.raw.socket.localPort ?? config.port;
  return { host: `${addr.includes(':') ? `[${addr}]` : addr}:${port}`, proto: config.secureCookies ? 'https' : 'http' };
}

/** PUBLIC_ORIGIN must be an http(s) origin and nothing else (checked at start: a bad value stops the gateway). */
export function parsePublicOrigin(origin: string): { host: string; proto: string } {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new Error(`PUBLIC_ORIGIN ${JSON.stringify(origin)} is not a URL`);
  }
  if (!/^https?:$/.test(u.protocol) || u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new Error(`PUBLIC_ORIGIN ${JSON.stringify(origin)} must be an origin such as https://reading.example.org (no path, query or credentials)`);
  }
  return { host: u.host, proto: u.protocol.slice(0, -1) };
}

/** What a DICOMweb path reads, for the PHI audit: the study (if the path names one) and the kind of resource. */
export function phiReadOf(path: string): { studyUID: string | null; kind: string } {
  const m = /^\/studies\/([0-9.]+)(?:\/series\/[0-9.]+)?(?:\/instances\/[0-9.]+)?(?:\/(metadata|frames|rendered|thumbnail|bulk))?/.exec(path);
  if (!m) return { studyUID: null, kind: `qido-${path.split('/')[1] ?? 'studies'}` };
  const rest = path.slice(`/studies/${m[1]}`.length);
  const last = m[2];
  const level = rest.includes('/instances/') ? 'instance' : rest.includes('/series/') ? 'series' : 'study';
  if (last) return { studyUID: m[1], kind: last === 'metadata' ? `${level}-metadata` : last };
  // /studies/S/series or /studies/S/series/R/instances without a trailing UID: QIDO within a study.
  if (/\/(series|instances)$/.test(rest)) return { studyUID: m[1], kind: 'qido-in-study' };
  return { studyUID: m[1], kind: level };
}

function stowContentTypeProblem(ct: string | undefined): string | null {
  if (!ct) return 'a STOW-RS body must be multipart/related; type="application/dicom" (no Content-Type given)';
  const [media, ...params] = ct.split(';').map((s) => s.trim());
  if (media.toLowerCase() !== 'multipart/related') return `a STOW-RS body must be multipart/related; type="application/dicom", not ${media}`;
  const p = Object.fromEntries(params.map((x) => { const i = x.indexOf('='); return [x.slice(0, i).trim().toLowerCase(), x.slice(i + 1).trim().replace(/^"|"$/g, '')]; }));
  if (!p.boundary) return 'multipart/related without a boundary';
  if (p.type && p.type.toLowerCase() !== 'application/dicom') return `only type="application/dicom" parts are accepted, not ${p.type}`;
  return null;
}

export async function registerDicomWebProxy(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { config } = ctx;
  if (config.publicOrigin) parsePublicOrigin(config.publicOrigin);
  const audit: PhiReadAudit = createPhiReadAudit(ctx.db);
  // STOW-RS bodies are multipart/related: hand the raw stream on, unparsed. Anything else that reaches
  // a STOW route (application/dicom and the like) is refused with 415 by the route itself.
  app.addContentTypeParser('multipart/related', (_req, payload, done) => done(null, payload));
  app.addContentTypeParser('application/dicom', (_req, payload, done) => done(null, payload));
  app.addHook('onClose', async () => audit.stop());

  registerOpening(app, ctx, audit);

  // THE reader policy for result objects on this way out too (gateway/objects/proxy-guard.ts).
  const guard = createProxyGuard(ctx);

  async function forward(req: FastifyRequest, reply: FastifyReply, path: string, query: string, drop?: { sops: Set<string>; series: Set<string> }) {
    const target = config.orthancUrl + config.orthancDicomWebRoot + path + query;
    // Orthanc's credentials: the gateway's one Orthanc client holds the header (gateway/orthanc/client.ts).
    const headers: Record<string, string> = ctx.orthanc.auth ? { authorization: ctx.orthanc.auth } : {};
    for (const h of PASS_REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const origin = publicOrigin(config, req);
    headers['forwarded'] = `host=${origin.host};proto=${origin.proto}`;
    // Abort the PACS request when the client goes away before the answer is written. Not on the
    // request's 'close': Node emits that as soon as a request body has been read, which aborted every
    // STOW after Orthanc had stored it and answered 502 "PACS unreachable" (issue 13).
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    let body: BodyInit | undefined;
    let tooLarge = false;
    if (req.method === 'POST') {
      headers['content-type'] = req.headers['content-type']!;
      const len = req.headers['content-length'];
      if (typeof len === 'string') headers['content-length'] = len;
      const max = app.initialConfig.bodyLimit ?? 50 * 1024 * 1024;
      if (Number(len) > max) return reply.code(413).send({ error: `STOW-RS body larger than ${max} bytes` });
      // Streamed to Orthanc as it arrives, cut off (413) past the body limit.
      body = Readable.toWeb(limited(req.body as Readable, max, () => (tooLarge = true))) as unknown as BodyInit;
    }
    let res: Response;
    try {
      res = await fetchOrthanc(target, { method: req.method, headers, body, signal: controller.signal, redirect: 'manual', ...(body ? { duplex: 'half' } : {}) } as RequestInit);
    } catch (e) {
      if (tooLarge) return reply.code(413).send({ error: 'STOW-RS body larger than the body limit' });
      req.log.warn({ err: (e as Error).message }, 'PACS unreachable');
      return reply.code(502).send({ error: 'PACS unreachable' });
    }
    reply.code(res.status);
    if (drop && res.ok && req.method === 'GET' && /json/i.test(res.headers.get('content-type') ?? '')) {
      // Answered without the hidden objects: the (small) JSON is read whole, filtered, re-sent.
      const text = filterDicomJson(await res.text(), drop);
      reply.header('content-type', res.headers.get('content-type')!);
      reply.header('cache-control', 'private, no-store');
      const { studyUID, kind } = phiReadOf(path);
      await audit.record(req.session!, studyUID, kind, kind.startsWith('qido') ? query : '');
      return reply.send(text);
    }
    if (drop && res.ok) {
      // Not JSON (a multipart answer to metadata asked as XML): the hidden objects could not be taken out.
      res.body?.cancel().catch(() => undefined);
      return reply.code(406).send({ error: 'this answer would carry result objects hidden from you; ask for application/dicom+json' });
    }
    for (const h of PASS_RESPONSE_HEADERS) {
      const v = res.headers.get(h);
      if (v) reply.header(h, v);
    }
    reply.header('cache-control', 'private, no-store');
    if (req.method !== 'POST' && res.ok) {
      const { studyUID, kind } = phiReadOf(path);
      await audit.record(req.session!, studyUID, kind, kind.startsWith('qido') ? query : '');
    }
    if (!res.body || req.method === 'HEAD') return reply.send();
    return reply.send(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream));
  }

  const pathOf = (req: FastifyRequest) => {
    const rawUrl = req.raw.url ?? '';
    const q = rawUrl.indexOf('?');
    return { path: (q >= 0 ? rawUrl.slice(0, q) : rawUrl).slice('/dicom-web'.length), query: q >= 0 ? rawUrl.slice(q) : '' };
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: '/dicom-web/*',
    config: { permission: 'dicomweb.read' },
    handler: async (req, reply) => {
      const { path, query } = pathOf(req);
      if (!isAllowedDicomWebPath(path)) return reply.code(400).send({ error: 'not a DICOMweb resource path' });
      let decision;
      try {
        decision = await guard(path, req.session!.user.role, (m) => req.log.warn(m));
      } catch (e) {
        req.log.warn({ err: (e as Error).message }, 'PACS unreachable (result-object guard)');
        return reply.code(502).send({ error: 'PACS unreachable' });
      }
      if (decision.kind === 'refuse') return reply.code(403).send({ error: decision.error });
      return forward(req, reply, path, query, decision.kind === 'filter' ? decision : undefined);
    },
  });

  // STOW-RS: the whole study collection, or one study.
  for (const url of ['/dicom-web/studies', '/dicom-web/studies/:study']) {
    app.post<{ Params: { study?: string } }>(url, { config: { permission: 'dicomweb.store' } }, async (req, reply) => {
      if (req.params.study !== undefined && (!UID.test(req.params.study) || req.params.study.length > 64)) return reply.code(400).send({ error: 'study: must be a DICOM UID (digits and dots)' });
      const problem = stowContentTypeProblem(req.headers['content-type']);
      if (problem) {
        (req.body as Readable | undefined)?.resume?.();
        return reply.code(415).send({ error: problem });
      }
      const { path, query } = pathOf(req);
      return forward(req, reply, path, query);
    });
  }
}

/** The stream, failing once more than `max` bytes have passed. */
function limited(stream: Readable, max: number, onTooLarge: () => void): Readable {
  let n = 0;
  return stream.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        if (n > max) {
          onTooLarge();
          return cb(new Error('body too large'));
        }
        cb(null, chunk);
      },
    }),
  );
}
