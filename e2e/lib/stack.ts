/**
 * The e2e stack: the production build of the viewer (dist/) served by the real gateway, in front of
 * a real Orthanc holding the given files. dist/ is rebuilt only when a source is newer than it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from '../../test/harness.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';

export const DIST = path.join(REPO_ROOT, 'dist');
const BUILD_INPUTS = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'];

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(p)) max = Math.max(max, newestMtime(path.join(p, e)));
  return max;
}

export function distIsStale(): boolean {
  const index = path.join(DIST, 'index.html');
  if (!fs.existsSync(index)) return true;
  const built = fs.statSync(index).mtimeMs;
  return BUILD_INPUTS.some((p) => newestMtime(path.join(REPO_ROOT, p)) > built);
}

/**
 * Builds into a scratch folder and swaps it in, under a lock, so parallel test runs never serve a
 * half-written dist/ and never build twice for the same sources.
 */
export function ensureBuilt(): void {
  if (!distIsStale()) return;
  const script = `
    set -e
    cd "${REPO_ROOT}"
    tmp="dist.build-$$"
    npx vite build --logLevel warn --outDir "$tmp" --emptyOutDir
    rm -rf dist.old-$$
    if [ -d dist ]; then mv dist dist.old-$$; fi
    mv "$tmp" dist
    rm -rf dist.old-$$
  `;
  // Re-checked under the lock: another run may have just built the same sources.
  const recheck = `node "${path.join(REPO_ROOT, 'e2e/lib/stale-check.mjs')}"`;
  // Always the production build: vitest sets NODE_ENV=test, with which Vite bundles React's
  // development build (twice the size, several times slower): e2e and benchmarks would measure that.
  const r = spawnSync('flock', ['/tmp/rs-vite-build.lock', 'bash', '-c', `${recheck} || { ${script} }`], { stdio: 'inherit', cwd: REPO_ROOT, env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
}

export async function startE2EStack(opts: { files: string[] }): Promise<Stack> {
  ensureBuilt();
  return startStack({ files: opts.files, staticDir: DIST });
}

/** Logs in through the real log-in page and waits until the app has left it. */
export async function loginInBrowser(page: Page, baseUrl: string, user: string, password = `${user}-demo`): Promise<void> {
  await page.goto(baseUrl + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 30_000 }), page.click('button[type=submit]')]);
}
