import { resolve, join } from 'node:path';
import { SessiondStore } from '../src/adapters/express.js';
import { createDemoApp } from './app.js';
import { loadSecret } from './demo-secret.js';

/**
 * `npm start`: the demo on the embedded store in ./data (DATA_DIR). Kill it with SIGKILL and
 * start it again: the browser is still logged in, with the same counter.
 */

const HOST = '127.0.0.1';
const dataDir = resolve(process.env.DATA_DIR ?? './data');
const port = Number.parseInt(process.env.PORT ?? '3000', 10);
if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0..65535, got ${process.env.PORT}`);

const secret = loadSecret(dataDir);
const store = new SessiondStore({ dir: join(dataDir, 'sessions') });
// Requests would wait for the store anyway; a demo should say at once why it cannot open it.
store.engine().catch((e: unknown) => {
  console.error(`sessiond demo: cannot open the store in ${dataDir}:`, e);
  process.exit(1);
});
const server = createDemoApp(store, secret).listen(port, HOST, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`sessiond demo listening on http://${HOST}:${actual}`);
});

function shutdown(): void {
  server.close();
  server.closeAllConnections();
  store.close().catch((e: unknown) => {
    console.error('sessiond demo: close failed', e);
    process.exitCode = 1;
  });
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
