/**
 * Serves the built viewer. Hashed assets are immutable (cached a year); index.html is never cached.
 * Every response is cross-origin isolated (COOP/COEP) so onnxruntime-web can use threads.
 */
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fs from 'node:fs';
import path from 'node:path';
import { isApiPath } from './auth/path-guard.js';

export async function registerStatic(app: FastifyInstance, dir: string): Promise<void> {
  const root = path.resolve(dir);
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    app.log.warn(`no built viewer in ${root}; run "npm run build"`);
    return;
  }
  await app.register(fastifyStatic, {
    root,
    preCompressed: true,
    wildcard: false,
    setHeaders(res, filePath) {
      if (filePath.includes(`${path.sep}assets${path.sep}`) || filePath.endsWith('.wasm') || filePath.endsWith('.onnx')) {
        res.header('cache-control', 'public, max-age=31536000, immutable');
      } else {
        res.header('cache-control', 'no-cache');
      }
      if (filePath.endsWith('.wasm')) res.header('content-type', 'application/wasm');
    },
  });
  // SPA routes fall back to index.html; API and DICOMweb misses stay 404 JSON.
  app.setNotFoundHandler((req, reply) => {
    // Any letter case: /API/... matches no route (the router is case-sensitive) and must not look like a page either.
    if (req.method === 'GET' && !isApiPath(req.url)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return reply.code(404).send({ error: isApiPath(req.url) ? 'no such route' : 'not found' });
  });
}
