/**
 * Progress of a long export or import on stderr: at most one line per PROGRESS_INTERVAL_MS,
 * and only when asked (`--progress`) or when stderr is a terminal, so that scripts and
 * logs are not flooded. The clock (performance.now() unless given) is read every PROGRESS_CHECK_EVERY counts.
 */

export const PROGRESS_INTERVAL_MS = 1000;
export const PROGRESS_CHECK_EVERY = 256;

export class Progress {
  /** -Infinity: the first check prints, so a run long enough to count shows it has started. */
  private lastMs = -Infinity;
  private sinceCheck = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  static forCli(flag: boolean): Progress {
    return new Progress(flag || process.stderr.isTTY === true);
  }

  /** `describe` is called only when a line is printed. */
  tick(describe: () => string): void {
    if (!this.enabled || ++this.sinceCheck < PROGRESS_CHECK_EVERY) return;
    this.sinceCheck = 0;
    const now = this.nowMs();
    if (now - this.lastMs < PROGRESS_INTERVAL_MS) return;
    this.lastMs = now;
    this.write(describe());
  }
}
