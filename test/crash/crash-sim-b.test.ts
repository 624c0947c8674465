/** Crash simulation, second half of the crash points (see crash-sim.test.ts). */
import { crashSimTest } from './crash-sim-suite.js';

crashSimTest(1);
