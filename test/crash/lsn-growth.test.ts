/**
 * LSNs are never reused (kind: crash simulation, regression): recovery skips every record
 * at or below the database file's appliedLsn, so a reopened store that handed out an LSN
 * again would lose the change at the next crash. A build whose recovery restarts LSNs from
 * the (reset, empty) logs fails here, and on the engine's assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { CLOCK_START_MS, engineOptions } from './crash-harness.js';

const id = (n: number): string => `session-${String(n).padStart(12, '0')}`;

test('LSNs keep growing across clean reopens, idle reopens and power losses, and every change survives', async () => {
  const clock = new ManualClock(CLOCK_START_MS);
  let fs = new SimFileSystem(1);
  let last = 0;
  for (let epoch = 0; epoch < 4; epoch++) {
    const e = await SessionEngine.open(engineOptions(fs, clock));
    for (let i = 0; epoch > 0 && i <= epoch; i++) assert.ok(e.get(id(i)), `epoch ${epoch}: session ${i} survived`);
    const s = await e.save(id(epoch), { attributes: { n: String(epoch) } });
    assert.ok(s.lsn > last, `epoch ${epoch}: lsn ${s.lsn} after ${last}`);
    last = s.lsn;
    await e.save(id(epoch + 1), { attributes: { n: 'next' } });
    if (epoch % 2 === 0) {
      await e.close();
    } else {
      const survivor = fs.crash(epoch, { mode: 'drop-all' });
      await e.close().catch(() => undefined);
      fs = survivor;
    }
    // An open that writes nothing still resets the logs: the next one finds them empty.
    await (await SessionEngine.open(engineOptions(fs, clock))).close();
  }
});
