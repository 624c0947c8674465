/**
 * Child process for the kill -9 tests: writes under load and reports, synchronously,
 *   `do set <id> <n>` / `do del <id>`   before it asks the store for a change
 *   `ok set <id> <n>` / `ok del <id>`   after the store acknowledged it
 * Each writer has its own sessions and one change in flight, so after a kill every session
 * must be in its last acknowledged state or in the state of its one change in flight.
 * argv: <dir> <durability> <seed>
 */
import { writeSync } from 'node:fs';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { Prng } from '../../src/util/prng.js';
import { attributesFromBlob } from '../../src/session/attributes.js';
import type { Durability } from '../../src/options.js';

const [dir, durability, seedText] = process.argv.slice(2) as [string, Durability, string];
const prng = new Prng(Number(seedText));
const WRITERS = 16;
const IDS_PER_WRITER = 8;

const say = (line: string): void => {
  writeSync(1, line + '\n');
};

const engine = await SessionEngine.open({ dir, durability, flushIntervalMs: 20, logSwapBytes: 256 * 1024, owner: 'kill-test' });
say(`ready ${engine.recovery.sessionsRecovered}`);

async function writer(w: number): Promise<void> {
  const ids = Array.from({ length: IDS_PER_WRITER }, (_, i) => `kill${String(w).padStart(4, '0')}x${String(i).padStart(4, '0')}${'k'.repeat(8)}`);
  for (;;) {
    const id = prng.pick(ids);
    const cur = engine.get(id);
    if (prng.int(20) === 0 && cur !== undefined) {
      say(`do del ${id}`);
      await engine.destroy(id);
      say(`ok del ${id}`);
      continue;
    }
    if (engine.isDestroyed(id)) continue;
    const n = cur === undefined ? 1 : Number(attributesFromBlob(cur.attrs).get('n')) + 1;
    const pad = JSON.stringify('p'.repeat(prng.int(1500)));
    say(`do set ${id} ${n}`);
    await engine.save(id, { attributes: { n: String(n), pad } });
    say(`ok set ${id} ${n}`);
  }
}

await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
