/**
 * LSNs stay above every image in the database file (kind: crash simulation, regression).
 * A flush interrupted after its images are durable and before its header leaves images
 * whose LSN is above the file's appliedLsn; their records are normally still in a log, but
 * a log can be gone (salvage dropped it, or it was lost). Recovery must then hand out LSNs
 * above those images (db.maxImageLsn), else the next change of such a session gets an LSN
 * at or below its image's and the next replay skips it as older: an acknowledged save lost.
 * Mutation found uncaught: leaving db.maxImageLsn out of recovery's nextLsn (the engine's
 * invariant then refuses the open with an assertion, or the save is lost).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { LOG_FILE_NAMES } from '../../src/format/constants.js';
import { isSessiondError } from '../../src/errors.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import { CLOCK_START_MS, STORE_DIR, engineOptions } from './crash-harness.js';

const ID = 'imagelsn0000000000000000';

const valueOf = (e: SessionEngine): string | undefined => {
  const s = e.get(ID);
  return s === undefined ? undefined : attributesFromBlob(s.attrs).get('v');
};

test('after a flush cut between its images and its header, and the logs lost, a new save of the session survives the next power loss', async () => {
  const clock = new ManualClock(CLOCK_START_MS);
  let cases = 0;
  for (let op = 1; op <= 60; op++) {
    const fs = new SimFileSystem(op);
    const e = await SessionEngine.open(engineOptions(fs, clock));
    await e.save(ID, { attributes: { v: '1' } });
    await e.flush();
    await e.save(ID, { attributes: { v: '2' } });
    fs.crashAtOp(op, op, { mode: 'drop-all' });
    await e.flush().catch(() => undefined);
    await e.close().catch(() => undefined);
    const survivor = fs.crashed;
    if (survivor === undefined) break; // the flush ended before op `op`: every cut is done
    for (const name of LOG_FILE_NAMES) await survivor.unlink(join(STORE_DIR, name)).catch(() => undefined);
    let e2: SessionEngine;
    try {
      e2 = await SessionEngine.open(engineOptions(survivor, clock));
    } catch (err) {
      // A refusal must be typed; an engine invariant (the LSNs below the images) is the bug.
      if (!isSessiondError(err)) throw err;
      continue;
    }
    cases++;
    const saved = await e2.save(ID, { attributes: { v: '3' } }); // acknowledged: fdatasynced in the log
    const power = survivor.crash(op + 1000, { mode: 'drop-all' });
    await e2.close().catch(() => undefined);
    const e3 = await SessionEngine.open(engineOptions(power, clock));
    try {
      assert.equal(valueOf(e3), '3', `cut at op ${op}: the save acknowledged at lsn ${saved.lsn} was lost`);
    } finally {
      await e3.close();
    }
  }
  assert.ok(cases > 0, 'no cut left a store to open');
});
