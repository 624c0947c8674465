import type { SessionState } from '../session/session-state.js';
import { writeValueReply } from './key-value.js';
import type { Protocol, Reply } from './resp-serializer.js';
import type { ReplyWriter } from './reply-writer.js';

/** A reply slot: filled when its command is done; replies are written strictly in order. */
export class Slot {
  reply: Reply | undefined = undefined;
  /** `bytes`: of the command's arguments, counted against pipelineBytesMax until answered. */
  constructor(readonly bytes: number) {}
}

/**
 * What waits in the reply queue: a slot, a ready reply, or the live state a GET found
 * (its value is written straight from the state's attribute text, key-value.ts).
 */
type Queued = Slot | Reply | SessionState;

function isReply(q: Reply | SessionState): q is Reply {
  return (q as Reply).t !== undefined;
}

/** Most answered entries kept at the queue's front before it is compacted. */
const ANSWERED_KEPT_MAX = 1024;

/**
 * A connection's replies in command order (docs/server.md "Pipelines"): what has been read
 * and not yet written, and the argument bytes of the commands not yet answered.
 */
export class ReplyQueue {
  /** queue[head] is the next reply to write. */
  private queue: (Queued | undefined)[] = [];
  private head = 0;
  /** Argument bytes of the commands whose slot is not yet written (pipelineBytesMax). */
  unansweredBytes = 0;

  /** Replies not yet written. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** A slot for a command answered later (its `reply` set then), or now with `reply`. */
  slot(bytes: number, reply: Reply | undefined): Slot {
    const slot = new Slot(bytes);
    slot.reply = reply;
    this.queue.push(slot);
    this.unansweredBytes += bytes;
    return slot;
  }

  /** A reply ready now, or the state a GET found, behind the replies queued. */
  push(r: Reply | SessionState): void {
    this.queue.push(r);
  }

  /** Encodes every reply ready at the head into `out`, in order, up to the first slot not answered. */
  writeReady(out: ReplyWriter, proto: Protocol): void {
    const q = this.queue;
    let i = this.head;
    for (; i < q.length; i++) {
      const item = q[i]!;
      if (item instanceof Slot) {
        if (item.reply === undefined) break;
        out.reply(item.reply, proto);
        this.unansweredBytes -= item.bytes;
      } else writeGetReply(out, item, proto);
      q[i] = undefined;
    }
    if (i === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (i > ANSWERED_KEPT_MAX) {
      this.queue = q.slice(i);
      this.head = 0;
    } else this.head = i;
  }
}

/** Writes the reply of a fast GET: a ready reply, or the live state it found. */
export function writeGetReply(out: ReplyWriter, r: Reply | SessionState, proto: Protocol): void {
  if (isReply(r)) out.reply(r, proto);
  else writeValueReply(out, r);
}
