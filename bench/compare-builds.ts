import { closeSync, mkdirSync, openSync, rmSync, writevSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * CPU per call of the engine's and the express adapter's hot paths in two builds, in one
 * process, rounds alternating A B B A ..., the median round quoted: on a shared machine a
 * ratio measured this way holds where wall-clock runs taken minutes apart do not.
 * `node dist/bench/compare-builds.js <dist of build A> <dist of build B> [rounds]`, where a
 * dist is the output of `tsc` (say, of `git worktree add /tmp/a <commit>`). CPU time is
 * process.cpuUsage (user + system), so time the process spends descheduled does not count.
 */

type Attributes = typeof import('../src/session/attributes.js');
type WritePlanModule = typeof import('../src/engine/write-plan.js');
type StateModule = typeof import('../src/session/session-state.js');
type SessionJson = typeof import('../src/adapters/session-json.js');
type ConnectCookie = typeof import('../src/adapters/connect-cookie.js');
type Express = typeof import('../src/adapters/express.js');
type RecordCodec = typeof import('../src/log/record-codec.js');
type SessionEncoder = typeof import('../src/session/session-encoder.js');
type ImageCodec = typeof import('../src/db/image-codec.js');
type SessionData = typeof import('./lib/session-data.js');
type SessionIds = typeof import('./lib/session-ids.js');

interface Build {
  attrs: Attributes;
  plan: WritePlanModule;
  state: StateModule;
  json: SessionJson;
  cookie: ConnectCookie;
  express: Express;
  record: RecordCodec;
  codec: SessionEncoder;
  image: ImageCodec;
  data: SessionData;
  ids: SessionIds;
}

const [distA, distB, roundsArg = '21'] = process.argv.slice(2);
if (distA === undefined || distB === undefined) throw new Error('usage: compare-builds.js <distA> <distB> [rounds]');
const ROUNDS = Number(roundsArg);
/** Sessions per round; each is a ~1 KiB realistic session (bench/lib/session-data.ts). */
const N = 2000;
const GET_DEPTH = 64;
const now = Date.now();
const limits = { sessionBytesMax: 1 << 20, sessionTtlMs: 86_400_000, owner: 'o' };

async function load(dist: string): Promise<Build> {
  const d = resolve(dist);
  return {
    attrs: (await import(`${d}/src/session/attributes.js`)) as Attributes,
    plan: (await import(`${d}/src/engine/write-plan.js`)) as WritePlanModule,
    state: (await import(`${d}/src/session/session-state.js`)) as StateModule,
    json: (await import(`${d}/src/adapters/session-json.js`)) as SessionJson,
    cookie: (await import(`${d}/src/adapters/connect-cookie.js`)) as ConnectCookie,
    express: (await import(`${d}/src/adapters/express.js`)) as Express,
    record: (await import(`${d}/src/log/record-codec.js`)) as RecordCodec,
    // Builds before the split of session-codec.js (encoder, decoder) have encodePut there.
    codec: (await import(`${d}/src/session/session-encoder.js`).catch(() => import(`${d}/src/session/session-codec.js`))) as SessionEncoder,
    image: (await import(`${d}/src/db/image-codec.js`)) as ImageCodec,
    data: (await import(`${d}/bench/lib/session-data.js`)) as SessionData,
    ids: (await import(`${d}/bench/lib/session-ids.js`)) as SessionIds,
  };
}

function fixtures(m: Build) {
  const ids = m.ids.sessionIds(N, 42);
  const sessions = ids.map((_, i) => m.data.makeSession(m.data.sessionBody(42, i), 2, 2, now));
  const v = [0, 1].map((k) => ids.map((_, i) => m.cookie.storedFromCookieSession(m.data.makeSession(m.data.sessionBody(42 + k, i), 1, 1, now)).attributes));
  const bases = ids.map((id, i) => m.state.makeState(id, 1, 1, now, now, now + 1e7, 0, 'o', m.attrs.blobFromAttributes(v[0]![i]!)));
  const small = ids.map((_, i) => ({ ...v[0]![i]!, rev: '7', counter: '7' }));
  // A log group buffer (what a save's record goes into) and a file (what the flusher's images go to).
  const group = Buffer.alloc(1 << 20);
  const imageFile = join(tmpdir(), `sessiond-compare-images-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return { ids, sessions, v0: v[0]!, v1: v[1]!, bases, small, group, imageFile, fd: openSync(imageFile, 'w') };
}
type Fixtures = ReturnType<typeof fixtures>;

const calls: Record<string, (m: Build, f: Fixtures) => void> = {
  'planSave, every attribute changed': (m, f) => {
    for (let i = 0; i < N; i++) m.plan.planSave(f.bases[i], f.ids[i]!, { attributes: f.v1[i]!, expiresAtMs: now + 1e7 }, now, limits);
  },
  'planSave, 2 small attributes changed': (m, f) => {
    for (let i = 0; i < N; i++) m.plan.planSave(f.bases[i], f.ids[i]!, { attributes: f.small[i]!, expiresAtMs: now + 1e7 }, now, limits);
  },
  'planSave, nothing changed': (m, f) => {
    for (let i = 0; i < N; i++) m.plan.planSave(f.bases[i], f.ids[i]!, { attributes: f.v0[i]!, expiresAtMs: now + 1e7, maxInactiveMs: 0 }, now, limits);
  },
  'save path: planSave and its record into a group buffer, every attribute changed': (m, f) => {
    let at = 0;
    for (let i = 0; i < N; i++) {
      const p = m.plan.planSave(f.bases[i], f.ids[i]!, { attributes: f.v1[i]!, expiresAtMs: now + 1e7 }, now, limits);
      if (!('type' in p)) throw new Error('nothing to write');
      if (at + 4096 > f.group.length) at = 0;
      at += m.record.writeRecordBody(f.group, at, p.type, i + 1, 0, p.data);
    }
  },
  'flush path: encodePut + encodeImage, 250 images a writevSync': (m, f) => {
    let iovecs: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      iovecs.push(...m.image.encodeImage(7, i + 1, m.codec.encodePut(f.bases[i]!)).buffers);
      if (iovecs.length >= 1000 || i === N - 1) {
        writevSync(f.fd, iovecs, 0);
        iovecs = [];
      }
    }
  },
  'read: sessionFromAttributes (blob to object)': (m, f) => {
    for (let i = 0; i < N; i++) m.json.sessionFromAttributes(f.bases[i]!.attrs, now + 1e7);
  },
  'write: storedFromCookieSession (object to attributes)': (m, f) => {
    for (let i = 0; i < N; i++) m.cookie.storedFromCookieSession(f.sessions[i]!);
  },
};

function cpuUs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return c.user + c.system;
}

/** N gets through the express adapter's Store, GET_DEPTH outstanding; resolves CPU ns per get. */
function getRound(store: InstanceType<Express['SessiondStore']>, ids: string[]): Promise<number> {
  return new Promise((done) => {
    let next = 0;
    let finished = 0;
    const c0 = process.cpuUsage();
    const one = (): void => {
      store.get(ids[next++ % N]!, () => {
        if (++finished === N) done((cpuUs(c0) * 1000) / N);
        else if (next < N) one();
      });
    };
    for (let i = 0; i < GET_DEPTH; i++) one();
  });
}

const builds = { A: await load(distA), B: await load(distB) };
const fx = { A: fixtures(builds.A), B: fixtures(builds.B) };
const results = new Map<string, { A: number[]; B: number[] }>();
const record = (name: string, k: 'A' | 'B', ns: number): void => {
  const r = results.get(name) ?? { A: [], B: [] };
  r[k].push(ns);
  results.set(name, r);
};
const order = (round: number): Array<'A' | 'B'> => (round % 2 === 0 ? ['A', 'B'] : ['B', 'A']);

for (let r = 0; r < ROUNDS; r++) {
  for (const [name, call] of Object.entries(calls)) {
    for (const k of order(r)) {
      const c0 = process.cpuUsage();
      call(builds[k], fx[k]);
      record(name, k, (cpuUs(c0) * 1000) / N);
    }
  }
}

const dirs = { A: join(tmpdir(), `sessiond-compare-a-${process.pid}`), B: join(tmpdir(), `sessiond-compare-b-${process.pid}`) };
const stores = { A: new builds.A.express.SessiondStore({ dir: dirs.A }), B: new builds.B.express.SessiondStore({ dir: dirs.B }) };
try {
  for (const k of ['A', 'B'] as const) {
    mkdirSync(dirs[k], { recursive: true });
    await stores[k].engine();
    const store = stores[k];
    await Promise.all(fx[k].ids.map((id, i) => new Promise<void>((ok, fail) => store.set(id, fx[k].sessions[i] as never, (e) => (e ? fail(e as Error) : ok())))));
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of order(r)) record(`store.get through the express adapter, ${GET_DEPTH} outstanding`, k, await getRound(stores[k], fx[k].ids));
  }
} finally {
  for (const k of ['A', 'B'] as const) {
    closeSync(fx[k].fd);
    rmSync(fx[k].imageFile, { force: true });
    await stores[k].close();
    rmSync(dirs[k], { recursive: true, force: true });
  }
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`A = ${distA}, B = ${distB}; CPU ns per call, median of ${ROUNDS} alternating rounds of ${N}\n`);
console.log('| call | A ns | B ns | B/A |');
console.log('| --- | --: | --: | --: |');
for (const [name, r] of results) console.log(`| ${name} | ${median(r.A).toFixed(0)} | ${median(r.B).toFixed(0)} | ${(median(r.B) / median(r.A)).toFixed(2)} |`);
