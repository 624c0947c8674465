/**
 * Crash simulation (kind: crash simulation, seeded), first half of the crash points; the
 * other half runs in crash-sim-b.test.ts so the two halves use both cores.
 *
 * SESSIOND_CRASH_POINTS crash points in all (default 10,000; `npm run test:crash-long` runs
 * 1,000,000): for each, the workload runs on the simulated file layer until the chosen
 * operation, the power fails (unsynced writes applied, dropped or torn per 512-byte
 * sector), a quarter of the time the power fails again during recovery, and the reopened
 * store must hold every acknowledged change, no destroyed session, and an in-order prefix of
 * the rest. A failure prints its case; add it to crash-regressions.test.ts.
 */
import { crashSimTest } from './crash-sim-suite.js';

crashSimTest(0);
