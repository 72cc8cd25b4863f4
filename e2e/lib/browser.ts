/**
 * Real Chromium for the e2e tests and benches: the system /usr/bin/chromium, headless, driven by
 * playwright-core (no browser download). Every launch gets a fresh profile so runs are cold and
 * independent; close() removes it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-gpu',
];

export interface LaunchedBrowser {
  context: BrowserContext;
  /** The first page of the context (a persistent context always opens one). */
  page: Page;
  userDataDir: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number }; extraArgs?: string[] } = {}): Promise<LaunchedBrowser> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
    viewport: opts.viewport ?? { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    userDataDir,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
