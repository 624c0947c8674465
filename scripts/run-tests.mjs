#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Node 20's runner takes files, not globs, so we list them here.
//
// Order: files start two at a time in the order of the list. `node --test <files>` sorts
// the files it is given (node 20's createTestFileList), so this script calls run() from
// node:test, which keeps the list's order, and writes TAP as `node --test` does off a TTY
// (spec on a TTY). Alphabetical order
// left long files (server-kill, the transfer tests) to run alone at the end while the other core
// idled, so the files known to be long start first, longest first (durations from a fresh-clone
// CI run on 2 cores at load 11-17, seconds in the comments); the rest follow alphabetically and
// fill in around them. A file missing from the list only runs later, it is never skipped.
// `node scripts/run-tests.mjs --print-order [substrings]` prints the order and runs nothing.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

const LONG_FIRST = [
  'crash/crash-sim-b.test.js', // 175
  'crash/crash-sim.test.js', // 140
  'global/failover-processes.test.js', // 145 (postgres, both modes)
  'kill/kill9.test.js', // 125
  'global/failover-processes-redis.test.js', // 115
  'crash/crash-sim-evict.test.js', // 97
  'global/failover-redis-cluster.test.js', // 85
  'server/server-kill.test.js', // 77
  'engine/rekey-complete.test.js', // 75
  'crash/crash-sim-combined.test.js', // 67
  'engine/principal-index.test.js', // 66
  'engine/store-lock-race.test.js', // 63
  'cli/export-import-cli.test.js', // 63
  'server/client-smoke.test.js', // 54
  'crash/io-faults.test.js', // 50
  'global/pg-turn-batch.test.js', // 50
  'global/global-store-postgres.test.js', // 48
  'browser/demo-cluster.test.js', // 47
  'global/redis-cluster-lost-record.test.js', // 44
  'browser/demo.test.js', // 29
  'global/global-store-redis-cluster.test.js', // 28
  'global/redis-master-kill-repair.test.js', // 27
];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function rank(file) {
  const i = LONG_FIRST.findIndex((l) => file.endsWith(`/${l}`));
  return i === -1 ? LONG_FIRST.length : i;
}

const args = process.argv.slice(2);
const printOrder = args.includes('--print-order');
const only = args.filter((a) => a !== '--print-order');
const files = walk('dist/test')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .sort((a, b) => rank(a) - rank(b));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test');
  process.exit(1);
}
if (printOrder) {
  console.log(files.join('\n'));
  process.exit(0);
}
const stream = run({ files, concurrency: 2 });
stream.on('test:fail', (data) => {
  if (data.todo === undefined) process.exitCode = 1; // as node --test: a failing todo test does not fail the run
});
stream.compose(process.stdout.isTTY ? spec : tap).pipe(process.stdout);
