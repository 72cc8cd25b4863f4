/**
 * Remote models read arriving studies too, without a hand on the button: this follows the pre-read's
 * record of admitted studies (`preread_studies`, one row per stable study with the fingerprint of its
 * image set) and queues each study for each remote model of the registry, under the same checks as a
 * request (enqueueExternalAi: eligibility, AI controls). A job's dedupe key is model, study and image
 * set: the outbox's unique key makes it once per image set, across restarts and across gateways. A study
 * refused (outside the indication, AI switched off) is not asked again by this process.
 */
import type { GatewayContext } from '../context.js';
import type { OutboxWorker } from '../outbox/worker.js';
import '../preread/migrations.js';
import '../outbox/schema.js';
import { ACTOR } from './deliver.js';
import { enqueueExternalAi } from './jobs.js';

/** Studies admitted within this window are considered (a gateway down longer than this does not send older ones). */
export const ARRIVAL_WINDOW_MS = 24 * 3600_000;

export const arrivalKey = (model: string, studyUID: string, fingerprint: string) => `external-ai:${model}:${studyUID}:${fingerprint}`;

/** One pass; returns how many jobs it queued. */
export async function followArrivals(ctx: GatewayContext, seen: Set<string>, now = Date.now()): Promise<number> {
  const remote = ctx.models.all().filter((m) => m.manifest.runtime?.kind === 'remote');
  if (!remote.length) return 0;
  const rows = await ctx.db
    .selectFrom('preread_studies')
    .select(['study_uid', 'fingerprint'])
    .where('fingerprint', '!=', 'arriving')
    .where('fingerprint_at', '>=', new Date(now - ARRIVAL_WINDOW_MS).toISOString())
    .execute();
  let queued = 0;
  for (const r of rows) {
    for (const m of remote) {
      const key = arrivalKey(m.manifest.name, r.study_uid, r.fingerprint);
      if (seen.has(key)) continue;
      seen.add(key);
      const there = await ctx.db.selectFrom('outbox').select('id').where('dedupe_key', '=', key).executeTakeFirst();
      if (there) continue;
      const out = await enqueueExternalAi(ctx, r.study_uid, m.manifest.name, { username: ACTOR }, { dedupeKey: key, trigger: 'arrival' });
      if (!out.ok || out.jobId === null) continue;
      queued++;
    }
  }
  return queued;
}

export function startArrivalFollower(ctx: GatewayContext, outbox: OutboxWorker, pollMs: number, log: (m: string) => void): { stop(): Promise<void> } {
  const seen = new Set<string>();
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = followArrivals(ctx, seen)
      .then((n) => {
        if (n) outbox.kick();
      })
      .catch((e: Error) => log(`external-ai: arrivals: ${e.message}`))
      .finally(() => {
        running = null;
      });
  }, pollMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
