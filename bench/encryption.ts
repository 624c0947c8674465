/**
 * Cost of encryption at rest (docs/format.md §3.7) beside the clear store: per payload
 * (seal and open one session), per save through the engine, per read (reads come from the
 * cache: the same), and per session at recovery (every image opened). Prints a markdown
 * table (docs/benchmarks.md, "Encryption at rest"). `npm run bench:encryption [-- --quick]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionEngine } from '../src/engine/session-engine.js';
import { resolveEncryption, type Encryption } from '../src/session/attr-seal.js';
import { encodePut } from '../src/session/session-encoder.js';
import { decodeImageState } from '../src/session/session-decoder.js';
import { makeState } from '../src/session/session-state.js';
import { PAYLOAD_LAYOUT_V3 } from '../src/format/constants.js';

const quick = process.argv.includes('--quick');
const SESSIONS = quick ? 2_000 : 20_000;
const CODEC_OPS = quick ? 20_000 : 200_000;
const ROUNDS = 3;
const ENC: Encryption = resolveEncryption({ keys: { k1: randomBytes(32) }, current: 'k1' });

/** A session of about 600 bytes of attributes, as the HTTP bench's counter app plus a user object. */
function attributes(i: number): Record<string, string> {
  return {
    cookie: JSON.stringify({ originalMaxAge: 86_400_000, expires: '2026-01-01T00:00:00.000Z', httpOnly: true, path: '/' }),
    user: JSON.stringify({ id: `user-${i}`, name: 'A. N. Example', roles: ['reader', 'writer'], email: `user${i}@example.com` }),
    cart: JSON.stringify(Array.from({ length: 8 }, (_, k) => ({ sku: `sku-${k}-${i}`, qty: k + 1 }))),
    counter: String(i),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function codec(enc: Encryption | undefined): { sealNs: number; openNs: number; bytes: number } {
  const blob = Object.entries(attributes(1)).map(([k, v]) => `${JSON.stringify(k)}\u0001${v}`).join('\u0000');
  const s = makeState('AbCdEfGhIjKlMnOpQrStUvWx', 3, 0, 1, 2, 3, 0, 'host', blob, 'user-1');
  const img = encodePut(s, enc);
  const seal: number[] = [];
  const open: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < CODEC_OPS; i++) encodePut(s, enc);
    seal.push(Number(process.hrtime.bigint() - t) / CODEC_OPS);
    t = process.hrtime.bigint();
    for (let i = 0; i < CODEC_OPS; i++) decodeImageState(img, s.id, 1, PAYLOAD_LAYOUT_V3, enc);
    open.push(Number(process.hrtime.bigint() - t) / CODEC_OPS);
  }
  return { sealNs: median(seal), openNs: median(open), bytes: img.length };
}

async function engine(enc: Encryption | undefined): Promise<{ createUs: number; updateUs: number; getUs: number; recoverUs: number }> {
  const out = { create: [] as number[], update: [] as number[], get: [] as number[], recover: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'sessiond-format-bench-'));
    try {
      const opts = { dir, durability: 'none' as const, encryption: enc, principal: 'user', flushIntervalMs: 100 };
      const e = await SessionEngine.open(opts);
      const depth = 64;
      const timed = async (fn: (i: number) => Promise<unknown>): Promise<number> => {
        const t = performance.now();
        for (let i = 0; i < SESSIONS; i += depth) await Promise.all(Array.from({ length: Math.min(depth, SESSIONS - i) }, (_, k) => fn(i + k)));
        return ((performance.now() - t) * 1000) / SESSIONS;
      };
      out.create.push(await timed((i) => e.save(`s${i}`, { attributes: attributes(i) })));
      out.update.push(await timed((i) => e.save(`s${i}`, { attributes: { ...attributes(i), counter: String(i + 1) } })));
      let t = performance.now();
      for (let k = 0; k < 10; k++) for (let i = 0; i < SESSIONS; i++) e.get(`s${i}`);
      out.get.push(((performance.now() - t) * 1000) / (SESSIONS * 10));
      await e.close();
      t = performance.now();
      const again = await SessionEngine.open(opts);
      out.recover.push(((performance.now() - t) * 1000) / SESSIONS);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { createUs: median(out.create), updateUs: median(out.update), getUs: median(out.get), recoverUs: median(out.recover) };
}

// Warm-up (JIT, file-system caches), not reported: the first mode measured would pay for it.
codec(ENC);
codec(undefined);
await engine(undefined);

const rows: string[] = [];
for (const [name, enc] of [['clear', undefined], ['AES-256-GCM', ENC]] as const) {
  const c = codec(enc);
  const e = await engine(enc);
  rows.push(
    `| ${name} | ${c.bytes} | ${(c.sealNs / 1000).toFixed(2)} | ${(c.openNs / 1000).toFixed(2)} | ${e.createUs.toFixed(1)} | ${e.updateUs.toFixed(1)} | ${e.getUs.toFixed(3)} | ${e.recoverUs.toFixed(1)} |`,
  );
}
console.log(`sessions ${SESSIONS}, codec ops ${CODEC_OPS}, median of ${ROUNDS} rounds, durability 'none', 64 saves in flight\n`);
console.log('| attributes | image bytes | encode PUT µs | decode image µs | save (create) µs | save (update) µs | get µs | recovery µs/session |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
