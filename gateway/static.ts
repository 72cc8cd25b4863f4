/**
 * Serves the built viewer. Hashed assets are immutable (cached a year); index.html is never cached.
 * Every response is cross-origin isolated (COOP/COEP) so onnxruntime-web can use threads.
 */
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fs from 'node:fs';
import path from 'node:path';

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
    if (req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/dicom-web')) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}
