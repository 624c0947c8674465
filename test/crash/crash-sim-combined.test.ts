/**
 * Crash simulation with the principal index, encryption at rest and the cache bound all on
 * (kind: crash simulation, seeded): the harness of crash-sim.test.ts with every case sealing
 * its attributes under a key that rotates with the clock across crashes, the workload's
 * `principal` option (and its "log out everywhere else" destroyAllOf), and a cacheBytesMax
 * of a few sessions: the open decodes some images and leaves the rest on disk, eviction
 * runs partly, and destroyAllOf meets cold targets. After every open the oracle checks the
 * store (cold sessions read back and opened with the keys) and that idsOf(principal) is
 * exactly the sessions of that principal (crash-oracle.ts principalIndexError); the live
 * index is checked again at the end of each epoch. Seeds start at SESSIOND_CRASH_SEED + 5000
 * (the test's name prints the first); SESSIOND_CRASH_COMBINED_POINTS sets the number of
 * crash points (default 1,000), both halves in this file.
 */
import { crashSimTest } from './crash-sim-suite.js';

const points = Number(process.env.SESSIOND_CRASH_COMBINED_POINTS ?? 1_000);
/** About three workload sessions (their attribute blobs are short). */
const cacheBytesMax = 3 * 300;
const config = { cacheBytesMax, points, encrypt: true, seedOffset: 5_000, what: 'a few sessions loaded, the rest on disk; sealed; principal index' };
crashSimTest(0, config);
crashSimTest(1, config);
