import { open, rename, unlink } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ioError } from '../errors.js';
import { engineSessions, exportChunks } from '../transfer/export-sessions.js';
import { redisSessions } from '../transfer/redis-source.js';
import { pgSessions } from '../transfer/pg-source.js';
import { adminExport } from './admin-transfer-client.js';
import { openStopped } from './open-store.js';
import { Progress } from './progress.js';

export const EXPORT_USAGE = `usage: sessiond export <dir> [--out FILE] [--progress]
       sessiond export --admin-url http://127.0.0.1:9464 [--out FILE] [--progress]
       sessiond export --from-redis redis://127.0.0.1:6379 [--prefix sess:] [--out FILE] [--progress]
       sessiond export --from-pg postgres://... [--table session] [--out FILE] [--progress]

  Writes one JSON line per live session (docs/format.md §7) to FILE, or to stdout. <dir>:
  a stopped store; --admin-url: a store that \`sessiond serve --admin-port\` holds open;
  --from-redis / --from-pg: the sessions of connect-redis / connect-pg-simple, to move them
  to sessiond with \`sessiond import\`. FILE appears only once complete and synced.
  Progress goes to stderr once a second when stderr is a terminal or with --progress.`;

/** Counts the lines going through (the admin export arrives as bytes). */
function lineCounter(onLines: (n: number) => void): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
      onLines(n);
      done(null, chunk);
    },
  });
}

/** Writes to `out` via `out.partial`, fdatasynced and renamed: a failed export leaves no file that looks complete. */
async function toFile(out: string, write: (dest: Writable) => Promise<void>): Promise<void> {
  const partial = `${out}.partial`;
  try {
    await write(createWriteStream(partial, { mode: 0o600 }));
    const fh = await open(partial, 'r+');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(partial, out);
    const dir = await open(dirname(resolve(out)), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (e) {
    await unlink(partial).catch(() => undefined);
    throw ioError('export to', out, e);
  }
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      progress: { type: 'boolean', default: false },
      'admin-url': { type: 'string' },
      'from-redis': { type: 'string' },
      prefix: { type: 'string', default: 'sess:' },
      'from-pg': { type: 'string' },
      table: { type: 'string', default: 'session' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(EXPORT_USAGE);
    return 0;
  }
  const sources = [positionals.length > 0, values['admin-url'] !== undefined, values['from-redis'] !== undefined, values['from-pg'] !== undefined].filter(Boolean).length;
  if (sources !== 1 || positionals.length > 1) {
    console.error(`sessiond export: give exactly one of <dir>, --admin-url, --from-redis, --from-pg\n\n${EXPORT_USAGE}`);
    return 2;
  }
  const progress = Progress.forCli(values.progress);
  let count = 0;
  const onSession = (n: number): void => {
    count = n;
    progress.tick(() => `sessiond export: ${n} sessions`);
  };
  const skipped = { skipped: 0 };
  let write: (dest: Writable) => Promise<void>;
  let close = async (): Promise<void> => undefined;
  if (values['admin-url'] !== undefined) {
    const res = await adminExport(values['admin-url']);
    write = (dest) => pipeline(res, lineCounter(onSession), dest);
  } else if (values['from-redis'] !== undefined) {
    const sessions = redisSessions(values['from-redis'], values.prefix, Date.now, skipped);
    write = (dest) => pipeline(Readable.from(exportChunks(sessions, onSession)), dest);
  } else if (values['from-pg'] !== undefined) {
    const sessions = pgSessions(values['from-pg'], values.table, Date.now, skipped);
    write = (dest) => pipeline(Readable.from(exportChunks(sessions, onSession)), dest);
  } else {
    const engine = await openStopped(positionals[0]!, 'export');
    close = () => engine.close();
    write = (dest) => pipeline(Readable.from(exportChunks(engineSessions(engine), onSession)), dest);
  }
  try {
    if (values.out === undefined) await write(process.stdout);
    else await toFile(values.out, write);
  } catch (e) {
    // `sessiond export <dir> | head`: the reader left; stop quietly, as Unix tools do.
    if ((e as { code?: unknown }).code === 'EPIPE') return 141;
    throw e;
  } finally {
    await close();
  }
  const skippedNote = skipped.skipped > 0 ? ` (${skipped.skipped} expired or vanished while read: skipped)` : '';
  console.error(`sessiond export: ${count} sessions${values.out === undefined ? '' : ` written to ${values.out}`}${skippedNote}`);
  return 0;
}
