import { SessiondError } from '../errors.js';

/**
 * Per-session FIFO turns (SPEC E8, claims 9-10): the requests of one session run one
 * after another, different sessions never wait for each other. Bounded: at most
 * `queueLengthMax` waiters per session, each waiting at most `queueWaitMsMax`.
 */

export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
  reject: (err: SessiondError) => void;
  timer: NodeJS.Timeout;
}

interface Turn {
  waiters: Waiter[];
}

export interface SessionQueueLimits {
  queueLengthMax: number;
  queueWaitMsMax: number;
}

export class SessionQueue {
  /** A session appears here only while someone holds its turn. */
  private readonly turns = new Map<string, Turn>();
  private waiting = 0;

  constructor(private readonly limits: SessionQueueLimits) {}

  /** Resolves with a release function once it is this caller's turn for `id`. */
  acquire(id: string): Promise<Release> {
    const turn = this.turns.get(id);
    if (turn === undefined) {
      this.turns.set(id, { waiters: [] });
      return Promise.resolve(this.releaseFor(id));
    }
    if (turn.waiters.length >= this.limits.queueLengthMax) {
      return Promise.reject(
        new SessiondError('SESSIOND_QUEUE_FULL', `${turn.waiters.length} requests already wait`, { queueLengthMax: this.limits.queueLengthMax }),
      );
    }
    return new Promise<Release>((grant, reject) => {
      const waiter: Waiter = {
        grant,
        reject,
        timer: setTimeout(() => this.expire(turn, waiter), this.limits.queueWaitMsMax),
      };
      waiter.timer.unref();
      turn.waiters.push(waiter);
      this.waiting++;
    });
  }

  /** The turn at once when nobody holds it (no promise, no wait), else undefined: then acquire(). */
  tryAcquire(id: string): Release | undefined {
    if (this.turns.has(id)) return undefined;
    this.turns.set(id, { waiters: [] });
    return this.releaseFor(id);
  }

  /** Runs `fn` in the session's turn. */
  async run<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    const release = await this.acquire(id);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Sessions whose turn is held right now, and requests waiting across all of them. */
  counts(): { held: number; waiting: number } {
    return { held: this.turns.size, waiting: this.waiting };
  }

  private releaseFor(id: string): Release {
    let released = false;
    return () => {
      if (released) return; // a release runs once, however many events call it
      released = true;
      this.handOn(id);
    };
  }

  private handOn(id: string): void {
    const turn = this.turns.get(id);
    if (turn === undefined) return;
    const next = turn.waiters.shift();
    if (next === undefined) {
      this.turns.delete(id);
      return;
    }
    this.waiting--;
    clearTimeout(next.timer);
    next.grant(this.releaseFor(id));
  }

  private expire(turn: Turn, waiter: Waiter): void {
    const i = turn.waiters.indexOf(waiter);
    if (i === -1) return;
    turn.waiters.splice(i, 1);
    this.waiting--;
    waiter.reject(
      new SessiondError('SESSIOND_QUEUE_TIMEOUT', `waited ${this.limits.queueWaitMsMax} ms`, { queueWaitMsMax: this.limits.queueWaitMsMax }),
    );
  }

  /** Fails every waiter (the store is closing). */
  rejectAll(err: SessiondError): void {
    for (const turn of this.turns.values()) {
      for (const w of turn.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.waiting = 0;
  }
}
