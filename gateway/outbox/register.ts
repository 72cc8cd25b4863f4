/** Route and background-service registration for this capability: SR/HL7/webhook outbox and the MLLP listener (issue 6). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { OutboxWorker } from './worker.js';
import { outboxSettings } from './settings.js';
import { registerOutboxRoutes } from './routes.js';
import { startMllpListener, type MllpListener } from '../mllp/listener.js';

/** Registers the outbox and returns its worker (the Gateway object carries it, for tests and the bench to kick). */
export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<OutboxWorker> {
  const { store, config } = ctx;
  const settings = outboxSettings(config);
  const worker = new OutboxWorker(store.db, config, settings, ctx.orthanc);
  registerOutboxRoutes(app, store, worker);
  let listener: MllpListener | null = null;
  if (settings.mllpPort) {
    listener = await startMllpListener(store.db, { host: settings.mllpHost, port: settings.mllpPort, log: (m) => app.log.warn(m) });
    app.log.info(`MLLP listener on ${settings.mllpHost}:${listener.port}`);
  }
  if (settings.worker) await worker.start();
  // The worker runs until the app closes; the store is closed after onClose hooks.
  app.addHook('onClose', async () => {
    await worker.stop();
    await listener?.close();
  });
  return worker;
}
