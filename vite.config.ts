import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';

/**
 * The gateway serves dist/ with @fastify/static `preCompressed: true`: it sends foo.js.br / foo.js.gz
 * when they exist next to foo.js. Emitting them at build time means no compression work per request
 * and the best ratio (brotli quality 11), which is most of "bytes before first image".
 */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'precompress',
    apply: 'build',
    configResolved(c) {
      outDir = path.resolve(c.root, c.build.outDir);
    },
    async closeBundle() {
      const walk = (dir: string): string[] =>
        fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
      const gzip = promisify(zlib.gzip);
      const brotli = promisify(zlib.brotliCompress);
      // Async zlib runs on libuv's thread pool, so files compress in parallel.
      await Promise.all(
        walk(outDir)
          .filter((f) => /\.(js|mjs|css|html|wasm|json|svg)$/.test(f))
          .map(async (file) => {
            const raw = await fs.promises.readFile(file);
            if (raw.length < 1024) return;
            // Max brotli for what the first image waits on (JS/CSS); the codecs' wasm is fetched on demand.
            const quality = file.endsWith('.wasm') ? 9 : 11;
            const [gz, br] = await Promise.all([
              gzip(raw, { level: 9 }),
              brotli(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
            ]);
            await fs.promises.writeFile(file + '.gz', gz);
            await fs.promises.writeFile(file + '.br', br);
          }),
      );
    },
  };
}

/**
 * The entry (src/main.tsx) is tiny and imports the app (src/app/start.tsx) dynamically, so that on a
 * viewer deep link the opening image is painted before the app is evaluated. The app's chunk and
 * its CSS are still fetched at once, in parallel with the entry: modulepreload / stylesheet links.
 */
function preloadAppChunk(): Plugin {
  return {
    name: 'preload-app-chunk',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const app = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && !!c.facadeModuleId?.endsWith('/src/app/start.tsx'));
        if (!app || app.type !== 'chunk') return [];
        const js = [app.fileName, ...app.imports].map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `/${f}` }, injectTo: 'head' as const }));
        const css = [...(app.viteMetadata?.importedCss ?? [])].map((f) => ({ tag: 'link', attrs: { rel: 'stylesheet', crossorigin: '', href: `/${f}` }, injectTo: 'head' as const }));
        return [...js, ...css];
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress(), preloadAppChunk()],
  server: {
    // Cross-origin isolation, as the gateway sends it: onnxruntime-web needs it for WASM threads.
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    proxy: {
      '/dicom-web': { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080' },
      '/api': { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080' },
      // AI: model files and onnxruntime's .wasm/.mjs come from the gateway (never a CDN).
      '/models': { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080' },
      '/ort': { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080' },
    },
  },
  preview: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // The DICOM image loader starts its decode worker with { type: 'module' }.
  worker: { format: 'es' },
  // Dev server only: the unbundled worker cannot import the codecs' CJS glue (see shared notes P2).
  optimizeDeps: {
    include: [
      '@cornerstonejs/codec-charls/decodewasmjs',
      '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
      '@cornerstonejs/codec-libjxl/decodewasmjs',
      '@cornerstonejs/codec-openjpeg/decodewasmjs',
      '@cornerstonejs/codec-openjph/wasmjs',
      'dicom-parser',
    ],
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 5000,
    sourcemap: false,
  },
});
