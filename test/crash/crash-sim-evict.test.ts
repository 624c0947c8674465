/**
 * Crash simulation under the cache bound (kind: crash simulation, seeded): the harness of
 * crash-sim.test.ts with cacheBytesMax at 1 byte, so every session the database file holds
 * is evicted after each flush and every later read or write of it loads it back with one
 * read. After every crash the reopened store (itself opened under the bound, with most
 * sessions left on disk and log records of cold sessions replayed onto their images) must
 * hold exactly what its durability level promises; an evicted session read back is its last
 * acknowledged state. SESSIOND_CRASH_EVICT_POINTS sets the number of crash points
 * (default 2,000), both halves in this file.
 */
import { crashSimTest } from './crash-sim-suite.js';

const points = Number(process.env.SESSIOND_CRASH_EVICT_POINTS ?? 2_000);
crashSimTest(0, { cacheBytesMax: 1, points });
crashSimTest(1, { cacheBytesMax: 1, points });
