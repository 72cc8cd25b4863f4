/** Route registration for findings: list, import, verdicts, sign-off (issue 4); one ingestion path (issue 13). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerFindingsRoutes } from './routes.js';
import { backfillSrDocuments } from './sr-arrivals.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  await registerFindingsRoutes(app, ctx);
  // SRs already in the PACS when this gateway starts (stored before SRs were read server-side, or while the
  // change feed was off) are read once in the background; new ones arrive through the change feed.
  // PREREAD=0 turns the change feed off, and this with it.
  if (process.env.PREREAD !== '0') {
    let stopped = false;
    let running: Promise<unknown> | null = null;
    const log = (msg: string) => (app.log.level && app.log.level !== 'silent' ? app.log.info(msg) : console.error(msg));
    app.addHook('onReady', async () => {
      running = backfillSrDocuments({ db: ctx.db, orthanc: ctx.orthanc, events: ctx.events, log }, () => stopped).catch((e: Error) => log(`sr-reader: backfill: ${e.message}`));
    });
    app.addHook('preClose', async () => {
      stopped = true;
      await running;
    });
  }
}
