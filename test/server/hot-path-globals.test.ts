/**
 * The modules on a durable write's path (`sessiond serve`'s SET and EXPIRE: parser, reply
 * writer, engine writes, log, encoder) take `Buffer` and `performance` from node:buffer and
 * node:perf_hooks, not from the globals: in node 20 both globals are accessor properties, so
 * every read of them in optimized code goes through a LoadGlobalIC call (~20-30 ns each,
 * about 1% of the main thread per SET in a perf profile, docs/benchmarks.md, h/serve12).
 * Kind: a source check (no behaviour): it fails when one of these files reads either global.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const HOT = [
  'src/server/resp-parser.ts',
  'src/server/reply-writer.ts',
  'src/server/key-value.ts',
  'src/engine/session-writes.ts',
  'src/engine/operation-latency.ts',
  'src/engine/flusher.ts',
  'src/engine/principal-of.ts',
  'src/log/log-pump.ts',
  'src/log/record-cache.ts',
  'src/log/record-codec.ts',
  'src/session/session-encoder.ts',
  'src/session/session-id.ts',
];

const GLOBALS = [
  { name: 'Buffer', module: 'node:buffer' },
  { name: 'performance', module: 'node:perf_hooks' },
];

test('hot-path modules import Buffer and performance instead of reading the accessor globals', () => {
  for (const file of HOT) {
    // Compiled to dist/test/server/: the repository root is three levels up.
    const text = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
    const imports = text.split('\n').filter((l) => l.startsWith('import {'));
    for (const g of GLOBALS) {
      if (!new RegExp(`(?<![\\w.])${g.name}\\.`).test(text)) continue;
      const imported = imports.some((l) => l.includes(`from '${g.module}'`) && new RegExp(`[{,] ${g.name}[,} ]`).test(l));
      assert.ok(imported, `${file} reads the global ${g.name}: import { ${g.name} } from '${g.module}'`);
    }
  }
});
