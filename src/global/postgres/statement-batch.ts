/**
 * Batches the asks a server's concurrent requests make of one kind of statement (take a
 * session's turn): while `maxInFlight` such statements are out (one by default), new asks
 * wait, and the next statement carries all of them. An ask that finds fewer out goes alone at once, so
 * an idle server pays no wait. Two asks with the same key (the same session) never share
 * a statement; the later one waits for the next.
 *
 * `send` answers every ask of its batch in order: a value, or an Error for that ask only.
 * A statement that fails as a whole fails each of its asks.
 */

/**
 * Statements of one kind out at once per store before asks wait to share the next one. One:
 * each statement commits, and a commit's WAL flush is most of what a short statement costs
 * the backend, so the asks that come while one is out are better sent together than
 * beside it. Against two, in the HTTP bench (docs/benchmarks.md, "Through mode on
 * PostgreSQL: the app servers' CPU"): a third fewer statements a request, and less CPU per
 * request on both the app servers and the backends.
 */
export const STATEMENTS_IN_FLIGHT = 1;
/** Asks in one statement at most. */
export const ASKS_PER_STATEMENT = 256;

interface Pending<A, R> {
  readonly ask: A;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export interface BatchStats {
  /** Statements sent. */
  statements: number;
  /** Asks answered (asks / statements = the mean batch). */
  asks: number;
}

export class StatementBatcher<A, R> {
  private inFlight = 0;
  private queue: Pending<A, R>[] = [];
  readonly stats: BatchStats = { statements: 0, asks: 0 };

  constructor(
    private readonly send: (asks: readonly A[]) => Promise<ReadonlyArray<R | Error>>,
    private readonly key: (a: A) => string,
    private readonly maxInFlight = STATEMENTS_IN_FLIGHT,
    private readonly maxBatch = ASKS_PER_STATEMENT,
  ) {}

  ask(a: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ ask: a, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: Pending<A, R>[] = [];
      const keys = new Set<string>();
      const rest: Pending<A, R>[] = [];
      for (const p of this.queue) {
        const k = this.key(p.ask);
        if (batch.length >= this.maxBatch || keys.has(k)) rest.push(p);
        else {
          keys.add(k);
          batch.push(p);
        }
      }
      this.queue = rest;
      this.inFlight++;
      void this.run(batch);
    }
  }

  private async run(batch: readonly Pending<A, R>[]): Promise<void> {
    this.stats.statements++;
    this.stats.asks += batch.length;
    try {
      const answers = await this.send(batch.map((p) => p.ask));
      batch.forEach((p, i) => {
        const r = answers[i];
        if (i >= answers.length) p.reject(new Error(`statement batch: no answer for ask ${i} of ${batch.length}`));
        else if (r instanceof Error) p.reject(r);
        else p.resolve(r as R);
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.inFlight--;
      this.pump();
    }
  }
}
