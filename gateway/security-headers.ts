/**
 * Security headers on every response, through @fastify/helmet (maintained; Fastify 5), registered
 * before authentication so 401/403/404 answers carry them too. Helmet writes them on the raw response
 * at onRequest, so hijacked replies (the event stream, proxied DICOMweb) get them as well.
 *
 * - Content-Security-Policy: only this origin's scripts; 'wasm-unsafe-eval' so onnxruntime-web and the
 *   image codecs can compile WebAssembly (from /ort/ and /assets/), never 'unsafe-eval'; workers from
 *   this origin or blob: (decode workers); no plugins, no <base>, forms post here only, and
 *   frame-ancestors 'none' (no framing: clickjacking). Inline styles stay allowed (index.html's boot
 *   style, Cornerstone's SVG text boxes set a style attribute); inline scripts do not.
 * - Cross-origin isolation as before (COOP same-origin, COEP require-corp, CORP same-origin):
 *   onnxruntime-web needs it for WASM threads.
 * - Cache-Control: no-store on every PHI response: everything under /api and /dicom-web (any spelling
 *   of the path), and any response that set no caching policy of its own. Static viewer files keep theirs.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import type { GatewayConfig } from './config.js';

export const CSP_DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'script-src-attr': ["'none'"],
  'worker-src': ["'self'", 'blob:'],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'", 'data:', 'blob:'],
  'media-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'frame-src': ["'none'"],
  'manifest-src': ["'self'"],
};

/** A request for patient data: /api or /dicom-web in any letter case or percent-encoding, or routed there. */
export function isPhiRequest(req: Pick<FastifyRequest, 'url'> & { routeOptions?: { url?: string } }): boolean {
  const route = req.routeOptions?.url ?? '';
  if (/^\/(api|dicom-web)(\/|$)/.test(route)) return true;
  let p = req.url.split(/[?#]/)[0];
  try {
    p = decodeURIComponent(p);
  } catch {
    return true; // undecodable: treat as sensitive
  }
  p = p.replace(/\\/g, '/').replace(/\/{2,}/g, '/').toLowerCase();
  return /^\/(\.\/)*(api|dicom-web)(\/|$)/.test(p) || p.includes('/api/') || p.includes('/dicom-web');
}

export async function registerSecurityHeaders(app: FastifyInstance, config: Pick<GatewayConfig, 'secureCookies'>): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      // Behind TLS, also upgrade any stray http:// subresource; on plain loopback HTTP that would break the app.
      directives: config.secureCookies ? { ...CSP_DIRECTIVES, 'upgrade-insecure-requests': [] } : CSP_DIRECTIVES,
    },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: { policy: 'require-corp' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    // HSTS only means something over TLS (secure cookies say the gateway is behind it).
    strictTransportSecurity: config.secureCookies ? { maxAge: 31536000, includeSubDomains: true } : false,
  });

  // Set early on the raw response too, so a hijacked PHI reply that names no policy still says no-store.
  app.addHook('onRequest', async (req, reply) => {
    if (isPhiRequest(req)) reply.raw.setHeader('cache-control', 'no-store');
  });
  app.addHook('onSend', async (req, reply) => {
    if (isPhiRequest(req)) {
      reply.header('cache-control', 'no-store');
      reply.header('pragma', 'no-cache');
    } else if (!reply.hasHeader('cache-control') && !reply.raw.hasHeader('cache-control')) {
      reply.header('cache-control', 'no-store');
    }
  });
}
