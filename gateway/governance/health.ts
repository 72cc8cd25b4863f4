/**
 * The gateway's own health records, for the uptime figures: every `intervalMs` one row per component.
 * `gateway`: the process runs and can write its database (the row itself is the proof).
 * `pacs`: Orthanc's /system answers within 3 s.
 * `model:<name>`: the model is in THE registry with its file, and its rollout is not `off`.
 * Nothing here holds patient data. The first beat is written at start, then on a timer (unref'd).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { orthancFetch, type OrthancClient } from '../orthanc/client.js';
import type { ModelRegistry } from '../ai/registry.js';
import { rolloutTable } from '../trust/service.js';
import './migrations.js';

export const DEFAULT_HEALTH_INTERVAL_MS = 60_000;

export interface HealthBeat {
  component: string;
  ok: boolean;
  detail: string | null;
}

async function pacsOk(orthanc: OrthancClient): Promise<HealthBeat> {
  try {
    const r = await orthancFetch(orthanc, '/system', { timeoutMs: 3000 });
    await r.body?.cancel();
    return { component: 'pacs', ok: r.ok, detail: r.ok ? null : `HTTP ${r.status}` };
  } catch (e) {
    return { component: 'pacs', ok: false, detail: (e as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
  }
}

/** What one heartbeat records, per component. */
export async function probe(db: Kysely<DB>, orthanc: OrthancClient, models: ModelRegistry): Promise<HealthBeat[]> {
  const t = await rolloutTable(db);
  const beats: HealthBeat[] = [{ component: 'gateway', ok: true, detail: null }, await pacsOk(orthanc)];
  const installed = new Map(models.all().map((m) => [m.manifest.name, m]));
  const names = new Set([...installed.keys(), ...Object.keys(t.modes)]);
  for (const name of [...names].sort()) {
    const m = installed.get(name);
    const mode = t.modes[name] ?? t.defaultMode;
    const ok = !!m && m.hasFile && mode !== 'off';
    beats.push({ component: `model:${name}`, ok, detail: ok ? null : !m ? 'not installed' : !m.hasFile ? 'model file missing' : 'switched off' });
  }
  return beats;
}

export async function writeHealth(db: Kysely<DB>, beats: readonly HealthBeat[], intervalMs: number, at = new Date().toISOString()): Promise<void> {
  if (!beats.length) return;
  await db
    .insertInto('governance_health')
    .values(beats.map((b) => ({ at, component: b.component, ok: b.ok ? 1 : 0, detail: b.detail, interval_ms: intervalMs })))
    .execute();
}

export interface HealthRecorder {
  beat(): Promise<void>;
  stop(): void;
  /** Resolves when no beat is being written (so the database can close). */
  idle(): Promise<void>;
}

export function startHealthRecorder(db: Kysely<DB>, orthanc: OrthancClient, models: ModelRegistry, intervalMs: number, log: (m: string) => void, after?: () => Promise<void>): HealthRecorder {
  let stopped = false;
  let running: Promise<void> | null = null;
  const beat = async () => {
    if (stopped) return;
    running = (async () => {
      try {
        await writeHealth(db, await probe(db, orthanc, models), intervalMs);
      } catch (e) {
        log(`governance health record: ${(e as Error).message}`);
      }
      try {
        if (!stopped) await after?.();
      } catch (e) {
        log(`governance rules check: ${(e as Error).message}`);
      }
    })();
    await running;
  };
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    beat,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    async idle() {
      await running;
    },
  };
}
