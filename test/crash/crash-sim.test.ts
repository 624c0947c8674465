/**
 * Crash simulation (kind: crash simulation, seeded), first half of the crash points; the
 * other half runs in crash-sim-b.test.ts so the two halves use both cores.
 *
 * SESSIOND_CRASH_POINTS crash points in all (default 6,000; `npm run test:crash-long` runs
 * 1,000,000), three per case: each case runs three epochs of open (recovery), a seeded
 * workload while the clock moves, and a crash: a power loss (unsynced writes applied,
 * dropped or torn per 512-byte sector, unsynced directory entries kept or lost) or now and
 * then a process crash. The first epoch's crash point enumerates every file-system
 * operation of the seed's workload; the later ones, which can hit recovery, come from the
 * seed. After every crash the reopened store must hold what its durability level promises
 * (crash-harness.ts), no destroyed session, and an in-order prefix of the rest. A failure
 * prints its case; add it to crash-regressions.test.ts.
 */
import { crashSimTest } from './crash-sim-suite.js';

crashSimTest(0);
