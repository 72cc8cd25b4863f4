/** Gateway entry point: `npm run gateway` (npm start runs it for you). */
import { ConfigError, configFromEnv, type GatewayConfig } from './config.js';
import { buildGateway } from './app.js';

let config: GatewayConfig;
try {
  config = configFromEnv();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`gateway: ${e.message}`);
  process.exit(2);
}
const gw = await buildGateway(config, { logger: process.env.LOG !== '0' });
await gw.app.listen({ host: config.host, port: config.port });
const addr = gw.app.server.address();
const port = typeof addr === 'object' && addr ? addr.port : config.port;
console.log(`gateway listening on http://${config.host}:${port}`);
if (process.send) process.send({ ready: true, port });
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    gw.close().finally(() => process.exit(0));
  });
}
