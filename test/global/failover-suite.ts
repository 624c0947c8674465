/**
 * The multi-process failover suite, for any backend (kind: integration, real processes):
 * 3 express servers behind a round-robin proxy, clients doing logins, increments and
 * logouts while servers are killed with SIGKILL and restarted (and, when the backend
 * offers it, the backend itself is disturbed: a Redis master killed or paused); and a
 * zombie server (SIGSTOP past its lease, SIGCONT) that must be fenced.
 * Runs once per mode given: back mode acknowledges before the backend has the change, so a
 * killed server must be back within its lease for nothing to be lost (guarantee 5): its
 * lease is longer than a restart there, whose process is started ahead (ServerFleet.prepare)
 * so that the restart is the store's (open, replay, register), not Node's start.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../../src/util/prng.js';
import { Client, cookieSid, ServerFleet, sidHash, sleep, startProxy } from './failover-processes.js';

export interface FailoverBackend {
  /** The <backend> argument of global-server.ts. */
  readonly arg: string;
  /** Disturbances of the backend, one after each server kill from the second on (kill -9 of a master, CLIENT PAUSE); each says what it did. */
  readonly disturbances?: ReadonlyArray<() => Promise<string>>;
  teardown(): Promise<void>;
}

const LOG = process.env.SESSIOND_TEST_LOG === '1';
/** Kill -9 / restart cycles of one run: SESSIOND_FAILOVER_KILLS, else the suite's own count, else 3. */
const killsOf = (own: number | undefined): number => Number(process.env.SESSIOND_FAILOVER_KILLS ?? own ?? 3);

export type FailoverMode = readonly ['through' | 'back', number];
/** Each mode with its lease (ms): through mode's short; back mode's longer than a restart on a loaded machine. */
export const THROUGH: FailoverMode = ['through', 2000];
export const BACK: FailoverMode = ['back', 7000];

/** `kills`: kill cycles of the chaos run (default 3). */
export interface SuiteOptions {
  readonly kills?: number;
}

export function failoverSuite(name: string, make: () => Promise<FailoverBackend | undefined>, modes: readonly FailoverMode[] = [THROUGH], o: SuiteOptions = {}): void {
  for (const [mode, LEASE_MS] of modes) suite(name, make, mode, LEASE_MS, killsOf(o.kills));
}

function suite(name: string, make: () => Promise<FailoverBackend | undefined>, mode: 'through' | 'back', LEASE_MS: number, KILLS: number): void {
  describe(`failover across server processes (${mode} mode): ${name}`, () => {
    let b: FailoverBackend | undefined;
    let dir = '';
    let fleet: ServerFleet;
    before(async () => {
      b = await make();
      if (b === undefined) return;
      dir = mkdtempSync(join(tmpdir(), 'sessiond-failover-'));
      fleet = new ServerFleet(dir, b.arg, LEASE_MS, mode);
      await Promise.all([fleet.start(0), fleet.start(1), fleet.start(2)]);
      await Promise.all([fleet.prepare(0), fleet.prepare(1), fleet.prepare(2)]);
    });
    after(async () => {
      await fleet?.stopAll();
      await b?.teardown();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('loses no acknowledged increment and resurrects no logout while servers (and the backend) are killed -9', async (t) => {
      if (b === undefined) return t.skip('backend not reachable');
      const proxy = await startProxy(() => fleet.ports);
      const base = `http://127.0.0.1:${proxy.port}`;
      const prng = new Prng(0x5e55);
      const problems: string[] = [];
      const loggedOut: string[] = [];
      let acked = 0;
      let kills = 0;
      const events: string[] = [];
      let chaosDone = false;

      const user = async (u: number): Promise<void> => {
        const c = new Client(base);
        while (!chaosDone) {
          c.reset();
          for (let tries = 0; (await c.call('POST', `/login?user=u${u}`)) === undefined; tries++) {
            if (tries > 1000) throw new Error(`u${u}: no login answered for 1000 tries`);
            await sleep(20);
          }
          let last = 0;
          for (let k = 0; k < 3 + (u % 5) && !chaosDone; k++) {
            const r = await c.call('POST', '/increment');
            if (r === undefined) continue;
            const n = r.counter as number;
            if (n <= last) problems.push(`u${u}: increment acknowledged as ${n} after ${last} (an acknowledged increment was lost)`);
            last = n;
            acked++;
          }
          const state = await c.call('GET', '/state');
          if (state !== undefined && (state.counter as number) < last) problems.push(`u${u}: state ${String(state.counter)} below acknowledged ${last}`);
          const cookie = c.currentCookie;
          let out: Record<string, unknown> | undefined;
          for (let tries = 0; tries < 100 && out === undefined; tries++) {
            out = await c.call('POST', '/logout');
            if (out === undefined) await sleep(20);
          }
          if (out !== undefined) loggedOut.push(cookie);
          if (LOG) console.error(`client u${u} logout ${sidHash(cookieSid(cookie))} ${out === undefined ? 'not answered' : `by ${String(out.server)}`} ${Date.now()}`);
          const after = out !== undefined ? await c.call('GET', '/state', cookie) : undefined;
          if (after !== undefined && after.user !== null) problems.push(`u${u}: logged out session came back (logout by ${String(out!.server)}, then ${JSON.stringify(after)})`);
        }
      };
      const chaos = async (): Promise<void> => {
        try {
          await disturbAll();
          await sleep(500);
        } finally {
          chaosDone = true; // a failed disturbance (no failover in time) stops the users too, or the run would hang
        }
      };
      const disturbAll = async (): Promise<void> => {
        for (let k = 0; k < KILLS; k++) {
          await sleep(300 + prng.int(700));
          const disturb = b!.disturbances?.[k - 1];
          if (LOG && disturb !== undefined) console.error(`chaos disturbance starts ${Date.now()}`);
          if (disturb !== undefined) events.push(await disturb());
          if (LOG && disturb !== undefined) console.error(`chaos ${events[events.length - 1]} ${Date.now()}`);
          const i = prng.int(3);
          await fleet.prepare(i); // its next process is ready to go: the restart is the store's
          if (LOG) console.error(`chaos kill web-${i} ${Date.now()}`);
          await fleet.kill(i);
          kills++;
          await sleep(prng.int(300));
          const t0 = Date.now();
          await fleet.start(i);
          events.push(`restart ${Date.now() - t0} ms (store ${fleet.openedMs[i]} ms)`);
          fleet.prepare(i).catch(() => undefined); // the next restart's process, ahead (its failure shows at that start)
          if (LOG) console.error(`chaos web-${i} ready ${Date.now()}`);
        }
      };
      try {
        await Promise.all([chaos(), ...Array.from({ length: 6 }, (_, u) => user(u))]);
      } catch (e) {
        await proxy.close();
        throw e;
      }
      for (const cookie of loggedOut) {
        const r = await new Client(base).call('GET', '/state', cookie);
        if (r !== undefined && r.user !== null) problems.push(`a logged out session came back after the chaos (session ${sidHash(cookieSid(cookie))}: ${JSON.stringify(r)})`);
      }
      await proxy.close();
      t.diagnostic(`${acked} acknowledged increments, ${loggedOut.length} logouts, ${kills} kills; ${events.join(', ')}`);
      if (problems.length > 0) for (const e of fleet.stderr) t.diagnostic(e ?? '');
      assert.deepEqual(problems, []);
      assert.ok(acked >= 20, `only ${acked} increments acknowledged`);
      assert.equal(kills, KILLS);
    });

    it('fences a server paused past its lease (SIGSTOP): another inherits, and on SIGCONT its writes are refused', async (t) => {
      if (b === undefined) return t.skip('backend not reachable');
      const direct = (i: number): string => `http://127.0.0.1:${fleet.ports[i]}`;
      const users = [new Client(direct(0)), new Client(direct(0)), new Client(direct(0))];
      // Set-up calls are retried: right after the chaos a server may still be reconnecting (503).
      const retried = async (f: () => Promise<Record<string, unknown> | undefined>): Promise<Record<string, unknown> | undefined> => {
        for (let i = 0; i < 50; i++) {
          const r = await f();
          if (r !== undefined) return r;
          await sleep(100);
        }
        return undefined;
      };
      for (const u of users) {
        assert.ok(await retried(() => u.call('POST', '/login?user=zed')));
        assert.equal((await retried(() => u.call('POST', '/increment')))?.counter, 1);
      }
      const cookies = users.map((u) => u.currentCookie) as [string, string, string];
      const [explicit, auto, abandoned] = cookies;
      // The set-up's counter 1 must be in the global record before the pause: in back mode a
      // read on B has A write it back and hand the session over (a loaded A may not have
      // written it back yet, and a change it still holds is lost with it: the loss window).
      const other = new Client(direct(1));
      for (const cookie of cookies) assert.equal((await retried(() => other.call('GET', '/state', cookie)))?.counter, 1);
      // The first two clients wait for their answer (longer than the pause): their requests hold
      // the turn across it and save once woken. The third gives up while the server is stopped,
      // so the server gives its turn back on waking, while the handler has yet to save.
      // Stopped only once all three have read the session (each prints `read <tag>`): a request
      // the loaded server had not reached yet would be served after the pause, rightly.
      const patient = AbortSignal.timeout(LEASE_MS + 60_000);
      const zombies = [
        users[0]!.call('POST', `/increment?slowMs=${LEASE_MS}&report=z1`, explicit, patient),
        users[1]!.call('POST', `/increment-auto?slowMs=${LEASE_MS}&report=z2`, auto, patient),
      ];
      const giveUp = new AbortController();
      const gaveUp = users[2]!.call('POST', `/increment?slowMs=${LEASE_MS + 5000}&report=late`, abandoned, giveUp.signal);
      for (const tag of ['z1', 'z2', 'late']) assert.equal(await fleet.line(0, new RegExp(`^read ${tag} `)), `read ${tag} 1`);
      fleet.signal(0, 'SIGSTOP');
      await sleep(LEASE_MS + 1000);
      for (const cookie of cookies) {
        assert.equal((await other.call('POST', '/increment', cookie))?.counter, 2, 'B inherits the session');
        assert.equal((await other.call('POST', '/increment', cookie))?.counter, 3);
      }
      giveUp.abort();
      assert.equal(await gaveUp, undefined);
      fleet.signal(0, 'SIGCONT');
      assert.equal(await zombies[0], undefined, 'the zombie write is not acknowledged');
      assert.equal(await zombies[1], undefined, 'nor when express-session saves at the end of the response');
      // The abandoned request's save, computed from counter 1, must not land over B's 3.
      assert.notEqual(await fleet.line(0, /^saved late /), 'saved late ok', 'the late save of a request whose client gave up is refused');
      for (const cookie of cookies) {
        assert.equal((await other.call('GET', '/state', cookie))?.counter, 3, 'nothing overwritten');
        assert.equal((await users[0]!.call('GET', '/state', cookie))?.counter, 3, 'the woken server serves the current state');
      }
    });
  });
}
