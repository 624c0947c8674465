import { join } from 'node:path';
import type { SessionEngine } from '../engine/session-engine.js';

export interface StoreFile {
  name: string;
  bytes: number;
}

/** The files in the store directory and their sizes, through the engine's file layer. */
export async function listStoreFiles(engine: SessionEngine): Promise<StoreFile[]> {
  const { fs, dir } = engine.options;
  const names = (await fs.readdir(dir)).sort();
  const out: StoreFile[] = [];
  for (const name of names) {
    const st = await fs.stat(join(dir, name));
    if (st !== undefined) out.push({ name, bytes: st.size });
  }
  return out;
}
