/**
 * Salvage when both header slots are damaged: the salt that seeds every image crc lived
 * only there. CRC-32 is affine in its seed (crc(d, s) = M·s ⊕ crc(d, 0), M invertible),
 * so each block that looks like an image yields the one salt that would make it valid.
 * Real images all yield the file's salt; garbage and planted fakes yield scattered values.
 * The most frequent candidate wins.
 *
 * Limit: an attacker who planted more fake images (with one chosen seed) in free space
 * than there are real images could win the vote. Only reachable under `salvage: true`
 * after both header slots were destroyed.
 */

import { DB_BLOCK_BYTES, DB_FIRST_DATA_OFFSET, IMAGE_HEAD_BYTES } from '../format/constants.js';
import { readU32 } from '../format/bytes.js';
import type { ChunkReader } from './chunk-reader.js';
import { imageBytes, parsePayloadId, readImageHead } from './image-codec.js';
import { solveSeed } from '../util/crc-seed.js';

export { solveSeed } from '../util/crc-seed.js';

/** Enough votes to be sure, few enough to keep salvage quick on a big file. */
const CANDIDATES_MAX = 64;

/** The salt most image-like blocks agree on; undefined when the file has none. */
export async function recoverSalt(reader: ChunkReader): Promise<number | undefined> {
  const votes = new Map<number, number>();
  let seen = 0;
  for (let pos = DB_FIRST_DATA_OFFSET; pos + IMAGE_HEAD_BYTES <= reader.fileBytes && seen < CANDIDATES_MAX; pos += DB_BLOCK_BYTES) {
    const at = await reader.load(pos, IMAGE_HEAD_BYTES);
    const head = readImageHead(reader.buffer, at);
    if (!head) continue;
    const total = imageBytes(head.dataBytes);
    // Images bigger than a chunk are skipped: small ones are plenty for a vote.
    if (pos + total > reader.fileBytes || total > reader.chunkBytes) continue;
    const i = await reader.load(pos, total);
    if (parsePayloadId(reader.buffer, i + IMAGE_HEAD_BYTES, head.dataBytes) === undefined) continue;
    const body = reader.buffer.subarray(i, i + IMAGE_HEAD_BYTES + head.dataBytes);
    const salt = solveSeed(body, readU32(reader.buffer, i + IMAGE_HEAD_BYTES + head.dataBytes));
    if (salt === undefined) continue;
    votes.set(salt, (votes.get(salt) ?? 0) + 1);
    seen++;
  }
  let best: number | undefined;
  let bestVotes = 0;
  for (const [salt, n] of votes) {
    if (n > bestVotes) [best, bestVotes] = [salt, n];
  }
  return best;
}
