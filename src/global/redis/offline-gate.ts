import { SessiondError } from '../../errors.js';
import { isRedisCluster, type RedisArg, type RedisClientLike, type RedisClusterLike, type RedisSubscriber } from './redis-types.js';

/**
 * Prompt refusals while Redis is unreachable (docs/failover.md §What each failure costs).
 * ioredis queues a command while it reconnects (its offline queue), and keeps one it had
 * sent when the connection dropped until the connection is back: either waits for the
 * command timeout (leaseMs) before the request gets its 503. Once the client has been
 * ready, the gate lets a command wait at most `offlineWaitMsMax` for the connection to
 * come back, and fails the commands in flight when it drops, both with
 * SESSIOND_GLOBAL_UNAVAILABLE (not acknowledged; one in flight may have run, as after any
 * timeout; on a client sessiond opened, ioredis does not send them again). A Cluster's connection is the client's as a whole: one master down while
 * the others answer is a failover, which ioredis waits out itself (retryDelayOnFailover).
 */

/** The connection state of an ioredis `Redis` or `Cluster` (its `status` and its status events). */
interface Connection {
  readonly status: string;
  on(event: 'ready' | 'close', cb: () => void): unknown;
  off(event: 'ready' | 'close', cb: () => void): unknown;
}

function isConnection(x: unknown): x is Connection {
  const c = x as Partial<Connection>;
  return typeof c.status === 'string' && typeof c.on === 'function' && typeof c.off === 'function';
}

/** ioredis's queue of the commands it had sent when the connection dropped (`Redis.prevCommandQueue`, ioredis 5). */
interface SetAside {
  readonly length: number;
  shift(): { command: { reject(e: Error): void } } | undefined;
}

/** Statuses in which a command goes out as it is: connected, or nothing to wait for ('wait': a lazy client connects on its first command; 'end': ioredis refuses at once). */
const PASS = new Set(['ready', 'wait', 'end']);

class OfflineGate {
  /** The connection was ready once: from then on a lost connection is an outage, not the start. */
  private wasReady: boolean;
  /** Who waits for 'ready'. */
  private readonly waiting = new Set<() => void>();
  /** Rejects each command in flight; called when the connection drops. */
  private readonly inFlight = new Set<(e: Error) => void>();

  constructor(
    private readonly conn: Connection,
    private readonly waitMsMax: number,
    /** Drop the commands ioredis would send again once reconnected (only on a client sessiond opened). */
    private readonly dropUnfulfilled: boolean,
  ) {
    this.wasReady = conn.status === 'ready';
    if (this.wasReady) this.noOfflineQueue();
    conn.on('ready', this.onReady);
    conn.on('close', this.onClose);
  }

  private readonly onReady = (): void => {
    this.wasReady = true;
    this.noOfflineQueue();
    for (const wake of [...this.waiting]) wake();
  };

  private readonly onClose = (): void => {
    const e = this.unavailable('the connection to Redis dropped with the command in flight');
    for (const reject of [...this.inFlight]) reject(e);
    // ioredis sets the commands it had sent aside right after emitting 'close' and sends them
    // again once reconnected (autoResendUnfulfilledCommands): a change already refused here
    // with a 503 would then be applied after the refusal (its fence still holds: same server,
    // epoch and version). Turning the resend off is no answer: ioredis then drops them
    // without settling them, and an auto-pipeline waits for their answers until commandTimeout.
    if (this.dropUnfulfilled) process.nextTick(() => this.rejectSetAside(e));
  };

  /**
   * Once connected, ioredis must not queue a command for later: one that passed the gate
   * while the connection looked ready (an auto-pipeline flushed a tick later, after the drop)
   * would otherwise wait in its offline queue and run after the gate refused it. ioredis
   * refuses it at once instead; the gate itself waits for the connection (offlineWaitMsMax).
   */
  private noOfflineQueue(): void {
    const c = this.conn as unknown as { options?: { enableOfflineQueue?: boolean } };
    if (this.dropUnfulfilled && c.options !== undefined) c.options.enableOfflineQueue = false;
  }

  /** Settles, with the refusal they already got, the commands ioredis set aside to send again. */
  private rejectSetAside(e: Error): void {
    const c = this.conn as unknown as { prevCommandQueue?: SetAside | null };
    const q = c.prevCommandQueue;
    if (q === undefined || q === null) return;
    c.prevCommandQueue = null;
    while (q.length > 0) q.shift()?.command.reject(e);
  }

  /** Stops listening to the connection (the store closes; an application's client lives on). */
  detach(): void {
    this.conn.off('ready', this.onReady);
    this.conn.off('close', this.onClose);
  }

  run<T>(send: () => Promise<T>): Promise<T> {
    if (this.wasReady && !PASS.has(this.conn.status)) return this.ready().then(() => this.send(send));
    return this.send(send);
  }

  /** Whether a command goes to the client as it is now: connected (or nothing to wait for), on a client whose set-aside queue onClose rejects. */
  direct(): boolean {
    return this.dropUnfulfilled && (!this.wasReady || PASS.has(this.conn.status));
  }

  /**
   * One promise a command, settled by its answer or by the connection dropping first (not an
   * async function: this is every command's path). On a client sessiond opened, the command
   * as ioredis answers it: every command sent on a ready connection is in ioredis's command
   * queue, which it sets aside when the connection drops, and onClose rejects those.
   */
  private send<T>(send: () => Promise<T>): Promise<T> {
    // Not connected yet (the first connection, a lazy client): ioredis queues it until connected, as before.
    if (this.dropUnfulfilled || this.conn.status !== 'ready') return send();
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      send().then(
        (v) => {
          this.inFlight.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.inFlight.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** Resolves once the connection is ready again; fails past waitMsMax. */
  private ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        if (this.conn.status === 'ready') resolve();
        else reject(this.unavailable(`no connection to Redis within offlineWaitMsMax (${this.waitMsMax} ms)`));
      };
      const timer = setTimeout(done, this.waitMsMax);
      this.waiting.add(done);
    });
  }

  private unavailable(detail: string): SessiondError {
    return new SessiondError('SESSIOND_GLOBAL_UNAVAILABLE', detail, { backend: 'redis', status: this.conn.status, offlineWaitMsMax: this.waitMsMax });
  }
}

/**
 * The client with its commands behind the gate (call, pipeline); the rest (nodes, duplicate,
 * quit) as it is; and `detach`, which stops the gate listening to the client. A client
 * without ioredis's connection state is returned unchanged.
 */
export function gateOffline(client: RedisClientLike, waitMsMax: number, owns = false): { client: RedisClientLike; detach(): void } {
  if (!isConnection(client)) return { client, detach: () => undefined };
  const dropsUnfulfilled = owns && !isRedisCluster(client);
  const gate = new OfflineGate(client, waitMsMax, dropsUnfulfilled);
  const detach = (): void => gate.detach();
  const pipeline = client.pipeline?.bind(client);
  const gated: RedisClientLike = {
    // A client sessiond opened, connected: the command as it is (every request's path; no closure for the gate).
    call: (command: string, ...args: RedisArg[]) => (gate.direct() ? client.call(command, ...args) : gate.run(() => client.call(command, ...args))),
    pipeline: pipeline === undefined ? undefined : (commands: RedisArg[][]) => ({ exec: () => gate.run(() => pipeline(commands).exec()) }),
    quit: () => client.quit(),
    duplicate: duplicateSubscriber(client, dropsUnfulfilled, isRedisCluster(client)),
  };
  if (!isRedisCluster(client)) return { client: gated, detach };
  const cluster: RedisClusterLike = { ...gated, nodes: (role) => client.nodes(role) };
  return { client: cluster, detach };
}

/**
 * `duplicate()` for the hand-over subscriber (handovers.ts). A standalone copy never
 * reconnects (`retryStrategy` null): ioredis re-subscribes a reconnected connection by
 * itself, sending SUBSCRIBE with nobody awaiting it, so one that failed (timed out on a
 * connection that came back stalled) was an unhandled rejection. Instead the connection's
 * end ends the listener, and the server subscribes again at its next poll (write-back.ts).
 * The copy also gets back the offline queue the gate turned off: its own first commands
 * are sent while it connects. A Cluster's subscriber re-subscribes with its own error
 * handling (ioredis ClusterSubscriber) and is copied as it is.
 */
function duplicateSubscriber(client: RedisClientLike, queueOff: boolean, cluster: boolean): RedisClientLike['duplicate'] {
  const dup = client.duplicate as ((override?: { enableOfflineQueue?: boolean; retryStrategy: () => null }) => RedisSubscriber) | undefined;
  if (dup === undefined) return undefined;
  if (cluster) return () => dup.call(client);
  const override = queueOff ? { enableOfflineQueue: true, retryStrategy: () => null } : { retryStrategy: () => null };
  return () => dup.call(client, override);
}
