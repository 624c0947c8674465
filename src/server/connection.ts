import type { Socket } from 'node:net';
import { isSessiondError } from '../errors.js';
import type { SessionState } from '../session/session-state.js';
import type { ClientInfo, CommandCall, ServerContext } from './command-context.js';
import { CommandOrder } from './command-order.js';
import { dispatch } from './command-table.js';
import { engineErrorReply } from './key-commands.js';
import { fastSet, isCommand, okOnceDurable, simpleExpireAt, simpleExpiryAt, touchedReply } from './fast-commands.js';
import { idOfKeyAt } from './key-value.js';
import { ReplyQueue, writeGetReply, type Slot } from './reply-queue.js';
import { RespParser } from './resp-parser.js';
import { error, NULL, type Reply } from './resp-serializer.js';
import { sharedReplyWriter } from './reply-writer.js';

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
  /** Replies in command order (reply-queue.ts). */
  private readonly replies = new ReplyQueue();
  /** When commands may start (command-order.ts). */
  private readonly order = new CommandOrder();
  private flushScheduled = false;
  /** True while a read is parsed: replies ready by its end are written then, without a tick. */
  private inData = false;
  private paused = false;
  /** No more commands are read: QUIT, a protocol error, or the server is stopping. */
  private ending = false;
  private closed = false;
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
    return this.replies.size;
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
    if (!this.client.authenticated || this.server.loading() || this.order.hasWaiting) return false;
    if (!get) return this.order.writeMayStart() && this.fastWrite(buf, spans, argc);
    if (this.order.generalWriteRuns()) return false;
    let r: Reply | SessionState;
    try {
      const id = idOfKeyAt(buf, spans[2]!, spans[3]!);
      if (this.order.keyedWriteRuns(id)) return false;
      r = this.server.engine.get(id) ?? NULL;
    } catch (e) {
      r = engineErrorReply(e);
    }
    this.server.stats.commandsTotal++;
    if (this.replies.size === 0) {
      // Nothing of this connection waits to be written, so every earlier reply of this read
      // is already in the shared writer (onSpans runs only inside onData, whose flush takes
      // it): this one is encoded right after them, with no queue entry.
      writeGetReply(sharedReplyWriter, r, this.client.proto);
    } else this.replies.push(r);
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
    let r: Promise<SessionState | undefined> | Reply;
    try {
      r = expireAt !== undefined ? engine.touch(id, { expiresAtMs: expireAt }) : fastSet(engine, id, buf, spans[2]!, spans[3]!, spans[4]!, spans[5]!, setExpiresAtMs);
    } catch (e) {
      r = engineErrorReply(e);
    }
    if (!(r instanceof Promise)) {
      slot.reply = r;
      this.scheduleFlush();
      return true;
    }
    this.order.keyedStarted(id);
    // The engine's promise itself, one then: the reply is made here (touchedReply, okOnceDurable)
    // instead of in a then of its own (one promise and one microtask turn less per write).
    const expire = expireAt !== undefined;
    void r.then(
      (s) => this.fastDone(slot, id, expire, s),
      (e: unknown) => this.fastWritten(slot, id, engineErrorReply(e)),
    );
    return true;
  }

  /** A fast-path write of `id` resolved with `s`: its reply, now or (a SET behind a pending change) once durable. */
  private fastDone(slot: Slot, id: string, expire: boolean, s: SessionState | undefined): void {
    if (expire) return this.fastWritten(slot, id, touchedReply(s));
    let r: Reply | Promise<Reply>;
    try {
      r = okOnceDurable(this.server.engine, id);
    } catch (e) {
      r = engineErrorReply(e);
    }
    if (!(r instanceof Promise)) return this.fastWritten(slot, id, r);
    void r.then(
      (reply) => this.fastWritten(slot, id, reply),
      (e: unknown) => this.fastWritten(slot, id, engineErrorReply(e)),
    );
  }

  /** A fast-path write of `id` is answered. */
  private fastWritten(slot: Slot, id: string, reply: Reply): void {
    slot.reply = reply;
    this.scheduleFlush();
    this.order.keyedDone(id);
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
    this.order.submit(kind, run, settle);
  }

  private pushSlot(bytes: number, reply: Reply | undefined): Slot {
    const slot = this.replies.slot(bytes, reply);
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
    this.replies.writeReady(out, this.client.proto);
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
    if (!this.paused && this.replies.unansweredBytes + this.parser.bufferedBytes > this.server.options.pipelineBytesMax) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (this.paused && !this.ending && this.replies.unansweredBytes + this.parser.bufferedBytes <= this.server.options.pipelineBytesMax / 2) {
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
