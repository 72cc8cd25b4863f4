/**
 * The Orthanc launcher every integration test, e2e test and `npm start` stands on. A port taken
 * between "picked" and "bound" made CI fail once ("Orthanc exited at start"); these pin that it now
 * says why, and waits for a fixed port to come free instead of failing the run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startOrthanc, PortInUseError, type OrthancHandle } from '../scripts/lib/orthanc.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-orthanc-'));
const started: OrthancHandle[] = [];
afterAll(async () => {
  for (const o of started) await o.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function hold(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().on('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('startOrthanc', () => {
  it('a fixed HTTP port held by another server: fails naming the port and the reason, after retrying', async () => {
    const port = await freePort();
    const blocker = await hold(port);
    try {
      const err = await startOrthanc({ dataDir: path.join(tmp, 'held'), httpPort: port, quiet: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortInUseError);
      expect(String((err as Error).message)).toContain(`HTTP port ${port}`);
      expect(String((err as Error).message)).toMatch(/already in use/);
    } finally {
      blocker.close();
    }
  });

  it('a fixed port that comes free while it retries: starts and answers', async () => {
    const port = await freePort();
    const blocker = await hold(port);
    setTimeout(() => blocker.close(), 1500);
    const o = await startOrthanc({ dataDir: path.join(tmp, 'freed'), httpPort: port, quiet: true });
    started.push(o);
    expect(o.httpPort).toBe(port);
    const r = await o.rest('/system');
    expect(r.ok).toBe(true);
  });
});
