import type { CommandKind } from './command-context.js';
import { engineErrorReply } from './key-commands.js';
import type { Reply } from './resp-serializer.js';

/** A command read while earlier writes of its connection run, and that must wait for them. */
interface Waiting {
  readonly kind: CommandKind;
  readonly run: () => Reply | Promise<Reply>;
  readonly settle: (r: Reply) => void;
}

/**
 * When a connection's commands may start (docs/server.md "Pipelines"): the writes and
 * read-write commands running, the fast-path writes per engine ID, and the commands waiting,
 * in order, for earlier writes. Replies still go out in command order (reply-queue.ts).
 */
export class CommandOrder {
  /** Write and read-write commands started and not yet answered. */
  private running = 0;
  private readWritesRunning = 0;
  /**
   * Of `running`, the writes of the fast path (SET, EXPIRE from offsets), each of one key:
   * how many run per engine ID. A GET of another key need not wait for them.
   */
  private keyedRunning = 0;
  private readonly keyedWrites = new Map<string, number>();
  private readonly waiting: Waiting[] = [];

  /** Whether a command waits: a later one may not pass it. */
  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** Whether a plain write may start now: no read-write command runs. */
  writeMayStart(): boolean {
    return this.readWritesRunning === 0;
  }

  /** Whether a general-path write runs (it may touch any key; a fast one, only its own). */
  generalWriteRuns(): boolean {
    return this.running > this.keyedRunning;
  }

  /** Whether a fast-path write of `id` runs. */
  keyedWriteRuns(id: string): boolean {
    return this.keyedRunning > 0 && this.keyedWrites.has(id);
  }

  /** A fast-path write of `id` started: a GET of this key, and any later general-path read, waits for it. */
  keyedStarted(id: string): void {
    this.running++;
    this.keyedRunning++;
    this.keyedWrites.set(id, (this.keyedWrites.get(id) ?? 0) + 1);
  }

  /** A fast-path write of `id` is answered: the commands waiting start, as far as they may. */
  keyedDone(id: string): void {
    this.running--;
    this.keyedRunning--;
    const n = this.keyedWrites.get(id)!;
    if (n === 1) this.keyedWrites.delete(id);
    else this.keyedWrites.set(id, n - 1);
    this.startWaiting();
  }

  /** Runs a general-path command now, or queues it behind the commands it must wait for. */
  submit(kind: CommandKind, run: () => Reply | Promise<Reply>, settle: (r: Reply) => void): void {
    if (kind === 'meta') this.runNow(run, 'meta', settle);
    else if (this.waiting.length === 0 && this.canStart(kind)) this.runNow(run, kind, settle);
    else this.waiting.push({ kind, run, settle });
  }

  /**
   * docs/server.md "Pipelines": a plain write starts unless a read-write command is running;
   * a read or a read-write command starts once no earlier write or read-write command is.
   */
  private canStart(kind: CommandKind): boolean {
    return kind === 'write' ? this.readWritesRunning === 0 : this.running === 0;
  }

  /** Starts the waiting commands, in order, as far as canStart allows. */
  private startWaiting(): void {
    while (this.waiting.length > 0 && this.canStart(this.waiting[0]!.kind)) {
      const w = this.waiting.shift()!;
      this.runNow(w.run, w.kind, w.settle);
    }
  }

  private runNow(run: () => Reply | Promise<Reply>, kind: CommandKind, settle: (r: Reply) => void): void {
    let r: Reply | Promise<Reply>;
    try {
      r = run();
    } catch (e) {
      settle(engineErrorReply(e));
      return;
    }
    if (!(r instanceof Promise)) {
      settle(r);
      return;
    }
    if (kind === 'meta' || kind === 'read') {
      void r.then(settle, (e: unknown) => settle(engineErrorReply(e)));
      return;
    }
    // A write or read-write command: later commands may wait for it (canStart).
    this.running++;
    if (kind === 'read-write') this.readWritesRunning++;
    const done = (): void => {
      this.running--;
      if (kind === 'read-write') this.readWritesRunning--;
      this.startWaiting();
    };
    void r.then(
      (reply) => {
        settle(reply);
        done();
      },
      (e: unknown) => {
        settle(engineErrorReply(e));
        done();
      },
    );
  }
}
