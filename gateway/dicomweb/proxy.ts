/**
 * DICOMweb proxy to Orthanc. The browser never talks to Orthanc: it talks to /dicom-web here.
 * Bodies are streamed both ways (never buffered whole); Accept (and with it the transfer-syntax
 * negotiation) is passed through, so Orthanc returns the stored syntax with `transfer-syntax=*`.
 * Only DICOMweb resource paths are forwarded: anything else, or any path trying to climb out, is refused.
 */
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import type { GatewayConfig } from '../config.js';
import { registerOpening } from './opening.js';
import type { Role } from '../../src/core/auth/roles.js';

/** studies[/S[/series[/R[/instances[/I[/frames/N | /rendered | /metadata | /bulk/...]]]]]] and friends. */
const DICOMWEB_PATH = /^\/(studies|series|instances)(\/[0-9.]+(\/(series|instances|metadata|rendered|thumbnail|frames|bulk)(\/[0-9A-Za-z.,/]*)?)?)?$/;

export function isAllowedDicomWebPath(path: string): boolean {
  if (path.includes('..') || path.includes('//') || path.includes('\\') || /%2e|%2f|%5c/i.test(path)) return false;
  return DICOMWEB_PATH.test(path);
}

const PASS_REQUEST_HEADERS = ['accept', 'content-type', 'content-length', 'range', 'if-none-match'];
const PASS_RESPONSE_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified', 'content-range'];

export function orthancAuthHeader(config: GatewayConfig): Record<string, string> {
  if (!config.orthancUser) return {};
  return { authorization: 'Basic ' + Buffer.from(`${config.orthancUser}:${config.orthancPassword ?? ''}`).toString('base64') };
}

export async function registerDicomWebProxy(app: FastifyInstance, config: GatewayConfig): Promise<void> {
  // STOW-RS bodies are multipart/related: hand the raw stream on, unparsed.
  app.addContentTypeParser(['multipart/related', 'application/dicom'], (_req, payload, done) => done(null, payload));

  const readers: Role[] = ['radiologist', 'resident', 'er-attending', 'technologist', 'admin'];
  registerOpening(app, config, readers);
  app.route({
    method: ['GET', 'HEAD', 'POST'],
    url: '/dicom-web/*',
    config: { roles: readers },
    handler: async (req, reply) => {
      const rawUrl = req.raw.url ?? '';
      const q = rawUrl.indexOf('?');
      const path = (q >= 0 ? rawUrl.slice(0, q) : rawUrl).slice('/dicom-web'.length);
      if (!isAllowedDicomWebPath(path)) return reply.code(400).send({ error: `not a DICOMweb resource path: ${path}` });
      if (req.method === 'POST' && path !== '/studies' && !/^\/studies\/[0-9.]+$/.test(path)) {
        return reply.code(405).send({ error: 'only STOW-RS (POST /studies) is accepted' });
      }
      const target = config.orthancUrl + config.orthancDicomWebRoot + path + (q >= 0 ? rawUrl.slice(q) : '');
      const headers: Record<string, string> = { ...orthancAuthHeader(config) };
      for (const h of PASS_REQUEST_HEADERS) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      // Orthanc builds BulkDataURIs from Host; keep ours so they point back through this proxy.
      if (req.headers.host) headers['forwarded'] = `host=${req.headers.host};proto=${req.protocol}`;
      const controller = new AbortController();
      req.raw.on('close', () => {
        if (!reply.raw.writableEnded) controller.abort();
      });
      let res: Response;
      try {
        res = await fetch(target, {
          method: req.method,
          headers,
          body: req.method === 'POST' ? (Readable.toWeb(req.body as Readable) as unknown as BodyInit) : undefined,
          // @ts-expect-error Node's fetch needs duplex for streamed request bodies
          duplex: 'half',
          signal: controller.signal,
          redirect: 'manual',
        });
      } catch (e) {
        req.log.warn({ err: (e as Error).message }, 'PACS unreachable');
        return reply.code(502).send({ error: 'PACS unreachable' });
      }
      reply.code(res.status);
      for (const h of PASS_RESPONSE_HEADERS) {
        const v = res.headers.get(h);
        if (v) reply.header(h, v);
      }
      reply.header('cache-control', 'private, no-store');
      if (!res.body || req.method === 'HEAD') return reply.send();
      return reply.send(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream));
    },
  });
}
