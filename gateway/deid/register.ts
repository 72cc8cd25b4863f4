/** The de-identification capability (issue 17 items 5-6): governance's de-identified exports. The de-identifier itself is src/core/deid. */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerDeidRoutes } from './routes.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  registerDeidRoutes(app, ctx);
}
