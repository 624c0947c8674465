/**
 * A Redis store closed while Redis is cut off lets its process exit (kind: integration, the
 * machine's Redis behind a TCP proxy the test cuts, a child process). Once connected, the
 * offline gate turns ioredis's offline queue off, so QUIT fails at once while the
 * connection is down; had the store stopped there, ioredis would reconnect for good and
 * the process would never exit (a test file whose after hook closed a store mid-outage
 * never ended). The child is bounded: killed by its pid if it outlives the check.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REDIS_URL, redisMissing } from './redis-harness.js';
import { TcpCutProxy } from './tcp-cut-proxy.js';
import { until } from './until.js';

const CHILD = fileURLToPath(new URL('./redis-close-child.js', import.meta.url));

it('a store closed while Redis is cut off disconnects its client: the process exits', async (tc) => {
  if ((await redisMissing()) !== undefined) return tc.skip('Redis not reachable');
  const proxy = await TcpCutProxy.start(Number(new URL(REDIS_URL).port || 6379));
  const child = spawn(process.execPath, [CHILD, `redis://127.0.0.1:${proxy.port}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let said = '';
  child.stdout.on('data', (d: Buffer) => (said += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    await until('the child is connected', () => said.includes('ready\n') || exited, 800);
    assert.ok(!exited, `the child exited before it was ready: ${said}`);
    proxy.cut();
    child.stdin.write('close\n');
    await until('the store closed', () => said.includes('closed\n') || exited, 800);
    // ioredis retries every 2 s at most: 800 polls leave it many tries at keeping the process alive.
    await until('the child exited after the store closed, with Redis still cut off', () => exited, 800);
    assert.equal(child.exitCode, 0);
  } finally {
    if (!exited) child.kill('SIGKILL');
    await proxy.close();
  }
});
