// Integration test of `npm run demo:cluster` (demo/cluster/): sessiond serve plus the demo app
// in node cluster mode with 2 workers on connect-redis. Over HTTP, with a new connection per
// request so the requests spread over both workers: log in, count, SIGKILL the sessiond
// process, let the demo start it again, and find the same user and counter on both workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterDemo } from './demo-cluster-process.js';
import { request as httpRequest } from 'node:http';


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
  const demo = await startClusterDemo(t, 'demo-cluster');
  const { url, waitFor } = demo;
  const firstPid = demo.firstSessiondPid;

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

  const mark = demo.output().length;
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
  assert.equal(await demo.stop(), 0, 'SIGTERM stops the demo cleanly');
});
