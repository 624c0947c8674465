import type { Socket } from 'node:net';
import { isSessiondError } from '../errors.js';
import type { SessionState } from '../session/session-state.js';
import type { ClientInfo, CommandCall, CommandKind, ServerContext } from './command-context.js';
import { dispatch } from './command-table.js';
import { engineErrorReply } from './key-commands.js';
import { fastExpire, fastSet, isCommand, simpleExpireAt, simpleExpiryAt } from './fast-commands.js';
import { idOfKeyAt, writeValueReply } from './key-value.js';
import { RespParser } from './resp-parser.js';
import { error, NULL, type Reply } from './resp-serializer.js';
import { sharedReplyWriter } from './reply-writer.js';

/** A reply slot: filled when its command is done; replies are written strictly in order. */
class Slot {
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

/** A command read while earlier writes of its connection run, and that must wait for them. */
interface Waiting {
  readonly kind: CommandKind;
  readonly run: () => Reply | Promise<Reply>;
  readonly settle: (r: Reply) => void;
}

const noop = (): void => {};

/**
 * One client connection (docs/server.md "Connections"): parses commands, runs them in the
 * order docs/server.md "Pipelines" describes, writes replies in command order, and holds
 * the per-connection limits: pipelineBytesMax (reading pauses), outputBufferBytesMax (a
 * slow reader is closed), idleTimeoutMs, and protocol errors (only this connection closes).
 */
export class Connection {
  readonly client: ClientInfo;
  private readonly parser: RespParser;
  /** Replies in command order; queue[queueHead] is the next to write. */
  private queue: (Queued | undefined)[] = [];
  private queueHead = 0;
  private flushScheduled = false;
  /** True while a read is parsed: replies ready by its end are written then, without a tick. */
  private inData = false;
  private unansweredBytes = 0;
  private paused = false;
  /** No more commands are read: QUIT, a protocol error, or the server is stopping. */
  private ending = false;
  private closed = false;
  /** Write and read-write commands started and not yet answered. */
  private running = 0;
  private readWritesRunning = 0;
  /**
   * Of `running`, the writes of the fast path (SET, EXPIRE from offsets), each of one key:
   * how many run per engine ID. A GET of another key need not wait for them.
   */
  private keyedRunning = 0;
  private readonly keyedWrites = new Map<string, number>();
  /** Commands waiting, in order, for earlier writes (docs/server.md "Pipelines"). */
  private readonly waiting: Waiting[] = [];
  private drainedWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly server: ServerContext,
    id: number,
    private readonly onClose: (c: Connection) => void,
  ) {
    const o = server.options;
    this.client = {
      id,
      addr: socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix',
      createdAtMs: server.clock.now(),
      name: '',
      libName: '',
      libVer: '',
      proto: 2,
      authenticated: o.password === undefined,
    };
    this.parser = new RespParser(
      o,
      (args) => this.onCommand(args),
      (buf, spans, argc) => this.onSpans(buf, spans, argc),
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', noop); // a reset by the peer ends up in 'close'
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', () => this.maybeResume());
    if (o.idleTimeoutMs > 0) {
      socket.setTimeout(o.idleTimeoutMs, () => {
        if (this.queued > 0) return; // a command is still running: not idle
        server.stats.idleClientsClosed++;
        socket.destroy();
      });
    }
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    this.inData = true;
    try {
      this.read(chunk);
    } finally {
      this.inData = false;
      // Every reply of this read that is ready (reads, PING, errors ...) goes out in one write now.
      if (this.flushScheduled) this.flush();
    }
  }

  private read(chunk: Buffer): void {
    try {
      this.parser.feed(chunk);
    } catch (e) {
      if (!isSessiondError(e, 'SESSIOND_PROTOCOL')) throw e;
      this.server.stats.protocolErrors++;
      this.pushSlot(0, error(`ERR ${String(e.context.reply)}`));
      this.end();
      return;
    }
    if (this.parser.bufferedBytes > this.server.options.pipelineBytesMax) {
      this.server.stats.protocolErrors++;
      this.pushSlot(0, error(`ERR Protocol error: a command is larger than pipelineBytesMax (${this.server.options.pipelineBytesMax} bytes)`));
      this.end();
      return;
    }
    this.maybePause();
  }

  /** Replies not yet written. */
  private get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /**
   * A command that arrived whole, as offsets into the bytes read (resp-parser.ts). GET, SET
   * and EXPIRE in their plain forms are handled here, without a Buffer per argument, a
   * command call or (for GET) a slot; true when handled, false to take the general path.
   * Each starts only where dispatch and canStart would let it: authenticated, loaded, no
   * command waiting; a write when no read-write command runs; a GET when no earlier write
   * of this connection runs on its key (docs/server.md "Pipelines").
   */
  private onSpans(buf: Buffer, spans: Int32Array, argc: number): boolean {
    if (this.ending) return true;
    const get = argc === 2 && isCommand(buf, spans, 'get');
    if (!get && argc !== 3 && argc !== 5) return false;
    if (!this.client.authenticated || this.server.loading() || this.waiting.length > 0) return false;
    if (!get) return this.readWritesRunning === 0 && this.fastWrite(buf, spans, argc);
    // A general-path write may touch any key; a fast one, only its own.
    if (this.running > this.keyedRunning) return false;
    let r: Reply | SessionState;
    try {
      const id = idOfKeyAt(buf, spans[2]!, spans[3]!);
      if (this.keyedRunning > 0 && this.keyedWrites.has(id)) return false;
      r = this.server.engine.get(id) ?? NULL;
    } catch (e) {
      r = engineErrorReply(e);
    }
    this.server.stats.commandsTotal++;
    if (this.queueHead === this.queue.length) {
      // Nothing of this connection waits to be written, so every earlier reply of this read
      // is already in the shared writer (onSpans runs only inside onData, whose flush takes
      // it): this one is encoded right after them, with no queue entry.
      if (isReply(r)) sharedReplyWriter.reply(r, this.client.proto);
      else writeValueReply(sharedReplyWriter, r);
    } else this.queue.push(r);
    this.scheduleFlush();
    return true;
  }

  /**
   * `SET key value`, `SET key value EX|PX n` or `EXPIRE|PEXPIRE key n` with a simple n
   * (fast-commands.ts), issued at once; anything else takes the general path. No closure
   * per command beyond the two the engine's promise needs (fastWritten).
   */
  private fastWrite(buf: Buffer, spans: Int32Array, argc: number): boolean {
    const { engine } = this.server;
    // Counted as the general path counts a command's arguments.
    let bytes = spans[1]! - spans[0]! + spans[3]! - spans[2]! + spans[5]! - spans[4]!;
    const set = isCommand(buf, spans, 'set');
    let expireAt: number | undefined;
    let setExpiresAtMs = 0;
    if (argc === 3 && !set) {
      expireAt = simpleExpireAt(buf, spans, engine.clock.now());
      if (expireAt === undefined) return false;
    } else {
      if (!set) return false;
      const at = argc === 3 ? 0 : simpleExpiryAt(buf, spans, engine.clock.now());
      if (at === undefined) return false;
      setExpiresAtMs = at;
      if (argc === 5) bytes += spans[7]! - spans[6]! + spans[9]! - spans[8]!;
    }
    this.server.stats.commandsTotal++;
    const slot = this.pushSlot(bytes, undefined);
    const id = idOfKeyAt(buf, spans[2]!, spans[3]!);
    let r: Promise<Reply> | Reply;
    try {
      r = expireAt !== undefined ? fastExpire(engine, id, expireAt) : fastSet(engine, id, buf, spans[2]!, spans[3]!, spans[4]!, spans[5]!, setExpiresAtMs);
    } catch (e) {
      r = engineErrorReply(e);
    }
    if (!(r instanceof Promise)) {
      slot.reply = r;
      this.scheduleFlush();
      return true;
    }
    // Running: a GET of this key, and any later general-path read, waits for it (onSpans, canStart).
    this.running++;
    this.keyedRunning++;
    this.keyedWrites.set(id, (this.keyedWrites.get(id) ?? 0) + 1);
    void r.then(
      (reply) => this.fastWritten(slot, id, reply),
      (e: unknown) => this.fastWritten(slot, id, engineErrorReply(e)),
    );
    return true;
  }

  /** A fast-path write of `id` is answered: as runNow's settle and done for a keyed write. */
  private fastWritten(slot: Slot, id: string, reply: Reply): void {
    slot.reply = reply;
    this.scheduleFlush();
    this.running--;
    this.keyedRunning--;
    const n = this.keyedWrites.get(id)!;
    if (n === 1) this.keyedWrites.delete(id);
    else this.keyedWrites.set(id, n - 1);
    this.startWaiting();
  }

  private onCommand(args: Buffer[]): void {
    if (this.ending) return;
    this.server.stats.commandsTotal++;
    let bytes = 0;
    for (const a of args) bytes += a.length;
    const call: CommandCall = { server: this.server, client: this.client, args, quit: () => this.end() };
    const { kind, run } = dispatch(call);
    const slot = this.pushSlot(bytes, undefined);
    const settle = (r: Reply): void => {
      slot.reply = r;
      this.scheduleFlush();
    };
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

  private pushSlot(bytes: number, reply: Reply | undefined): Slot {
    const slot = new Slot(bytes);
    slot.reply = reply;
    this.queue.push(slot);
    this.unansweredBytes += bytes;
    if (reply !== undefined) this.scheduleFlush();
    return slot;
  }

  /** Coalesces the replies of one turn (a whole group commit, typically) into one write. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (!this.inData) process.nextTick(() => this.flushTick());
  }

  private flushTick(): void {
    if (this.flushScheduled) this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    // Every reply ready at the head of the queue, encoded into one buffer: one write.
    const out = sharedReplyWriter;
    const q = this.queue;
    const proto = this.client.proto;
    let i = this.queueHead;
    for (; i < q.length; i++) {
      const item = q[i]!;
      if (item instanceof Slot) {
        if (item.reply === undefined) break;
        out.reply(item.reply, proto);
        this.unansweredBytes -= item.bytes;
      } else if (isReply(item)) out.reply(item, proto);
      else writeValueReply(out, item);
      q[i] = undefined;
    }
    if (i === q.length) {
      q.length = 0;
      this.queueHead = 0;
    } else if (i > 1024) {
      this.queue = q.slice(i);
      this.queueHead = 0;
    } else this.queueHead = i;
    if (out.pendingBytes > 0) {
      this.socket.write(out.take());
      if (this.socket.writableLength > this.server.options.outputBufferBytesMax) {
        // A client that does not read its replies would make us buffer without bound.
        this.server.stats.slowClientsClosed++;
        this.socket.destroy();
        return;
      }
    }
    if (this.queued === 0) {
      if (this.ending) this.socket.end(() => this.socket.destroy());
      for (const w of this.drainedWaiters.splice(0)) w();
    }
    this.maybeResume();
  }

  private maybePause(): void {
    if (!this.paused && this.unansweredBytes + this.parser.bufferedBytes > this.server.options.pipelineBytesMax) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (this.paused && !this.ending && this.unansweredBytes + this.parser.bufferedBytes <= this.server.options.pipelineBytesMax / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Stops reading; the socket closes once every command read so far is answered. */
  private end(): void {
    if (this.ending) return;
    this.ending = true;
    this.socket.pause();
    this.scheduleFlush();
  }

  /** For shutdown: stop reading, answer what is in flight, close. */
  shutdown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.end();
    });
  }

  /** Resolves once every command read so far is answered. */
  whenAnswered(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  private onSocketClose(): void {
    this.closed = true;
    this.ending = true;
    this.onClose(this);
    for (const w of this.drainedWaiters.splice(0)) w();
  }
}
