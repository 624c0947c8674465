import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ioError } from '../errors.js';
import { importSessions, type ImportSummary } from '../transfer/import-sessions.js';
import { adminImport } from './admin-transfer-client.js';
import { openStopped } from './open-store.js';
import { Progress } from './progress.js';

export const IMPORT_USAGE = `usage: sessiond import <dir> <file.jsonl> [--progress] [--json]
       sessiond import --admin-url http://127.0.0.1:9464 <file.jsonl> [--json]

  Loads the sessions of an export file (docs/format.md §7) into a stopped store, or into
  the store a running \`sessiond serve --admin-port\` holds. Every line is checked first: a
  malformed one refuses the import (SESSIOND_IMPORT_LINE_INVALID, with its line number)
  and nothing is applied. A session the store accessed later than the file says is kept;
  a destroyed one stays destroyed; an expired one is skipped. Importing a file twice
  changes nothing the second time. Success is printed once everything is durable.`;

export function formatImportSummary(s: ImportSummary): string {
  return `imported ${s.lines} lines: ${s.written} written, ${s.unchanged} already there, ${s.newer} newer in the store (kept), ${s.expired} expired (skipped), ${s.destroyed} destroyed in the store (skipped)`;
}

export async function importCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      progress: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'admin-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(IMPORT_USAGE);
    return 0;
  }
  const admin = values['admin-url'];
  if (positionals.length !== (admin === undefined ? 2 : 1)) {
    console.error(`sessiond import: expected ${admin === undefined ? '<dir> <file.jsonl>' : '<file.jsonl> with --admin-url'}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  const file = positionals[positionals.length - 1]!;
  await access(file).catch((e: unknown) => {
    throw ioError('read', file, e);
  });
  let summary: ImportSummary;
  if (admin !== undefined) {
    summary = await adminImport(admin, file);
  } else {
    const engine = await openStopped(positionals[0]!, 'import');
    // One per pass, so that each pass shows it has started.
    const progress = { check: Progress.forCli(values.progress), apply: Progress.forCli(values.progress) };
    try {
      summary = await importSessions(engine, {
        open: () => createReadStream(file),
        onProgress: (phase, n) => progress[phase].tick(() => `sessiond import: ${phase === 'check' ? 'checked' : 'applied'} ${n} lines`),
      });
    } finally {
      await engine.close();
    }
  }
  console.log(values.json ? JSON.stringify(summary) : formatImportSummary(summary));
  return 0;
}
