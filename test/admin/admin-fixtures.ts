/** Test support (the admin tests): an admin server on an engine, for the length of one test body. */
import { startAdminServer, type AdminServer } from '../../src/admin/admin-server.js';
import type { AdminServerOptionsInput } from '../../src/admin/admin-options.js';
import type { SessionEngine } from '../../src/engine/session-engine.js';

/** Turns a hang (a server that never answers or never closes) into a failure; not a timing assertion. */
export const HANG_GUARD_MS = 60_000;

/** Runs `f` with an admin server on `e` (a free loopback port, then `over`); closes the server, then the engine. */
export async function withAdmin(e: SessionEngine, over: Omit<AdminServerOptionsInput, 'engine'>, f: (admin: AdminServer) => Promise<void>): Promise<void> {
  const admin = await startAdminServer({ engine: e, port: 0, ...over });
  try {
    await f(admin);
  } finally {
    await admin.close();
    await e.close();
  }
}
