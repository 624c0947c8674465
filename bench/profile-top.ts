import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './lib/package-version.js';

/**
 * Prints the functions that take the most CPU (self time) in V8 .cpuprofile files, the
 * ones `bench/run.js --cpu-prof` writes: `node dist/bench/profile-top.js <file or dir> [count]`.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface TopFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export function topFunctions(profile: CpuProfile, count: number): TopFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, TopFunction>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const url = f.url.replace(/^file:\/\//, '');
    const where = url === '' ? '' : `${url.startsWith(REPO_ROOT) ? relative(REPO_ROOT, url) : url.replace(/.*node_modules\//, '')}:${f.lineNumber + 1}`;
    const name = f.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const e = byFunction.get(key) ?? { name, where, selfMs: 0, share: 0 };
    e.selfMs += us / 1000;
    byFunction.set(key, e);
    total += us / 1000;
  }
  const out = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, count);
  for (const e of out) e.share = e.selfMs / total;
  return out;
}

/** Self time grouped by where the code lives: a sessiond file, an npm package, node's internals, or V8. */
export function timeByOwner(profile: CpuProfile): Array<{ owner: string; selfMs: number; share: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const url = f.url.replace(/^file:\/\//, '');
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const owner =
      pkg !== undefined ? `npm:${pkg}` : url.startsWith(REPO_ROOT) ? relative(REPO_ROOT, url) : url.startsWith('node:') ? 'node internals' : f.functionName.startsWith('(') ? f.functionName : '(native)';
    const us = profile.timeDeltas[i] ?? 0;
    totals.set(owner, (totals.get(owner) ?? 0) + us);
    total += us;
  });
  return [...totals.entries()].map(([owner, us]) => ({ owner, selfMs: us / 1000, share: us / total })).sort((a, b) => b.selfMs - a.selfMs);
}

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(path, f));
}

const target = process.argv[2];
if (target === undefined) {
  console.error('usage: node dist/bench/profile-top.js <file.cpuprofile | dir> [count]');
  process.exit(2);
}
const count = Number(process.argv[3] ?? 25);
for (const file of files(target)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(`\n${file}`);
  for (const f of topFunctions(profile, count)) console.log(`${(f.share * 100).toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  console.log('  by owner:');
  for (const o of timeByOwner(profile).slice(0, 15)) console.log(`${(o.share * 100).toFixed(1).padStart(5)}%  ${o.selfMs.toFixed(0).padStart(7)} ms  ${o.owner}`);
}
