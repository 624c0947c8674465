/** docs/operations.md lists every admin option and every metric /metrics serves (kind: unit, docs in step with code). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ADMIN_OPTION_DOCS } from '../../src/admin/admin-options.js';
import { AdminMetrics } from '../../src/admin/admin-metrics.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/operations.md', import.meta.url)), 'utf8');

test('docs/operations.md has a row for every admin option', () => {
  for (const name of Object.keys(ADMIN_OPTION_DOCS)) assert.match(DOC, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name);
});

test('docs/operations.md has a row for every metric /metrics serves, and no row for one it does not', async () => {
  const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock: new ManualClock() });
  const m = new AdminMetrics(e, undefined);
  try {
    const served = [...(await m.scrape()).matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!).sort();
    const documented = [...DOC.matchAll(/^\| `(sessiond_[a-z_]+)(?:\{[a-z]+\})?` \|/gm)].map((x) => x[1]!).sort();
    assert.deepEqual(documented, served);
  } finally {
    m.stop();
    await e.close();
  }
});
