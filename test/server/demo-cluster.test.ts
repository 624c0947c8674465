// Integration test of `npm run demo:cluster` (demo/cluster/): sessiond serve plus the demo app
// in node cluster mode with 2 workers on connect-redis. Over HTTP, with a new connection per
// request so the requests spread over both workers: log in, count, SIGKILL the sessiond
// process, let the demo start it again, and find the same user and counter on both workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from '../../bench/lib/free-port.js';
import { removeDir, tempDir } from '../adapters/adapter-fixtures.js';

const RUN = fileURLToPath(new URL('../../demo/cluster/run.js', import.meta.url));

interface Res {
  status: number;
  worker: string;
  body: string;
  setCookie: string[];
}

/** One request on its own connection (no keep-alive): the cluster's round robin sees each. */
function http(url: string, method: string, cookie: string | undefined, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (cookie !== undefined) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, worker: String(res.headers['x-worker']), body: data, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('demo:cluster: two workers share sessions through sessiond serve, and survive its kill -9', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir('demo-cluster');
  t.after(() => removeDir(dataDir));
  const sessiondPort = await freeLoopbackPort();
  // Its own process group, so that nothing of it (primary, workers, sessiond) outlives the test.
  const child = spawn(process.execPath, [RUN], { env: { ...process.env, DATA_DIR: dataDir, PORT: '0', SESSIOND_PORT: String(sessiondPort) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the whole group is gone already
    }
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const onOut = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', onOut);
  child.stderr.on('data', onOut);
  const waitFor = async (re: RegExp, from = 0): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(out.slice(from));
      if (m !== null) return m;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const url = (await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) \(2 workers\)/))[1]!;
  const firstPid = Number((await waitFor(/sessiond serve started \(pid (\d+)\)/))[1]);

  const login = await http(`${url}/login`, 'POST', undefined, 'username=ann');
  assert.equal(login.status, 303);
  const cookie = login.setCookie.map((c) => c.split(';')[0]).join('; ');
  const workers = new Set<string>([login.worker]);
  for (let i = 1; i <= 6; i++) {
    const r = await http(`${url}/increment`, 'POST', cookie, '');
    assert.equal(r.status, 303);
    workers.add(r.worker);
  }
  const state = async (): Promise<Res> => http(`${url}/api/state`, 'GET', cookie);
  const before = await state();
  assert.deepEqual(JSON.parse(before.body), { user: 'ann', counter: 6, worker: Number(before.worker) });
  workers.add(before.worker);

  const mark = out.length;
  process.kill(firstPid, 'SIGKILL');
  await waitFor(/sessiond serve exited \(SIGKILL\); starting it again/, mark);
  await waitFor(/sessiond serving .* on 127\.0\.0\.1:\d+/, mark);
  // Both workers reconnect by themselves; until they have, a request may get a 503.
  const seenAfter = new Set<string>();
  while (seenAfter.size < 2) {
    const r = await state();
    if (r.status === 200) {
      assert.deepEqual(JSON.parse(r.body), { user: 'ann', counter: 6, worker: Number(r.worker) });
      seenAfter.add(r.worker);
    } else {
      assert.equal(r.status, 503, r.body);
    }
  }
  for (const w of seenAfter) workers.add(w);
  assert.equal(workers.size, 2, 'requests were served by both workers');
  const r = await http(`${url}/increment`, 'POST', cookie, '');
  assert.equal(r.status, 303);
  assert.equal(JSON.parse((await state()).body).counter, 7);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'SIGTERM stops the demo cleanly');
});
