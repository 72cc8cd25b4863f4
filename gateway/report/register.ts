/** The report capability (issue 16): draft, signed report and addenda routes. Sign-off itself is the findings capability's act. */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerReportRoutes } from './routes.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  await registerReportRoutes(app, ctx);
}
