/**
 * Live events across two gateways on one PostgreSQL (LISTEN/NOTIFY): a triage change and an alert on
 * gateway A reach gateway B's live feed (which its SSE streams follow) once, and are not echoed back
 * to A. Runs in the PostgreSQL pass (TEST_DB=postgres); on SQLite there is one process and nothing to mirror.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TEST_DIALECT, waitFor, type Stack } from '../../test/harness.js';
import { buildGateway, type Gateway } from '../app.js';
import type { AlertEntry, LiveTriage } from '../preread/triage.js';

let stack: Stack;
let b: Gateway;

describe.runIf(TEST_DIALECT === 'postgres')('live events on every gateway', () => {
  beforeAll(async () => {
    stack = await startStack();
    b = await buildGateway({ ...stack.gateway.config });
  });
  afterAll(async () => {
    await b?.close().catch(() => {});
    await stack?.stop();
  });

  it('a triage change and alert events on A reach B once, and are not echoed back to A', async () => {
    const a = stack.gateway;
    const seen = { a: [] as string[], b: [] as string[] };
    a.preread.triage.live.on('triage', (e: LiveTriage) => seen.a.push(`triage ${e.studyUID}`));
    b.preread.triage.live.on('triage', (e: LiveTriage) => seen.b.push(`triage ${e.studyUID}`));
    for (const ev of ['alert', 'alert-closed', 'alert-ack']) {
      a.preread.triage.live.on(ev, (x: AlertEntry) => seen.a.push(`${ev} ${x.id}`));
      b.preread.triage.live.on(ev, (x: AlertEntry) => seen.b.push(`${ev} ${x.id}`));
    }
    a.preread.triage.notify('1.2.3.4.5');
    const alert: AlertEntry = { id: 'alert-x1', studyUID: '1.2.3.4.5', priority: 'critical', reason: 'test', createdAt: '2026-12-01T10:00:00.000Z', ackedBy: null, ackedAt: null, closedAt: null, closedReason: null, url: '/?study=1.2.3.4.5' };
    let received: unknown = null;
    b.preread.triage.live.once('alert', (x: AlertEntry) => (received = x));
    a.preread.triage.live.emit('alert', alert);
    const bAck = { ...alert, ackedBy: 'rita', ackedAt: '2026-12-01T10:01:00.000Z' };
    b.preread.triage.live.emit('alert-ack', bAck);
    await waitFor('B heard A, A heard B', async () => seen.b.length >= 3 && seen.a.length >= 3, 5000, 50);
    // A moment more: an echo or a duplicate would arrive now.
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual(alert);
    // B: A's triage change and alert (each once) and its own ack; A: its own two and B's ack (once), no echo.
    expect([...seen.b].sort()).toEqual(['alert alert-x1', 'alert-ack alert-x1', 'triage 1.2.3.4.5']);
    expect([...seen.a].sort()).toEqual(['alert alert-x1', 'alert-ack alert-x1', 'triage 1.2.3.4.5']);
  });
});
