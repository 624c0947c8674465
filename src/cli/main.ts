#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { nodeFileSystem } from '../fs/node-file-system.js';
import { SessionEngine } from '../engine/session-engine.js';
import { isSessiondError } from '../errors.js';
import { verifyStore } from './verify-store.js';
import { formatStats } from './format-stats.js';
import { fetchAdminStats } from './admin-stats.js';
import { PostgresGlobalStore } from '../global/postgres/postgres-global-store.js';
import { serveCommand } from './serve-command.js';
import { loadKeys } from './keys-file.js';
import { postAdminAction } from './admin-actions.js';
import { resolveEncryption } from '../session/attr-seal.js';
import { exportCommand } from './export-command.js';
import { importCommand } from './import-command.js';

const USAGE = `usage: sessiond <command> <dir> [--json]

commands:
  verify <dir>    check the logs and the database file; changes nothing; exit 1 on corruption
  stats <dir>     open the store (recovering it if needed) and print its statistics
  stats --admin-url URL   print the statistics of a running store, from its admin port
  recover <dir>   open the store, recover it, print the recovery report, close it
  compact <dir>   recover, then return the database file's free space to the file system
  migrate --print [--schema <name>]
                  print the SQL that creates the global store's tables (docs/failover.md); changes nothing
  serve <dir>     serve the store over the Redis protocol (sessiond serve --help)
  revoke <dir> <principal> [--except ID]...
                  destroy every session of a principal (log out everywhere) on a stopped store;
                  with --admin-url URL, on a running sessiond serve through its admin port
  rekey <dir>     rewrite every session under the current encryption key and scrub the free
                  space: then no file holds an older key's bytes (stopped store; or --admin-url URL)
  export <dir>    write the live sessions as JSON lines; also from a running server or
                  from connect-redis / connect-pg-simple (sessiond export --help)
  import <dir> <file.jsonl>
                  load an export into a store, or into a running server (sessiond import --help)

  --keys-file FILE   encryption keys, JSON { "current": id, "keys": { id: base64 } }
                     (default: the SESSIOND_KEYS environment variable), for every command
                     that opens a store`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'serve') return serveCommand(argv.slice(1));
  if (argv[0] === 'export') return exportCommand(argv.slice(1));
  if (argv[0] === 'import') return importCommand(argv.slice(1));
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' }, 'admin-url': { type: 'string' }, print: { type: 'boolean', default: false }, schema: { type: 'string', default: 'sessiond' }, 'keys-file': { type: 'string' }, except: { type: 'string', multiple: true } } });
  const [command, dir] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === 'migrate') {
    if (!values.print) {
      console.error(`sessiond migrate: only --print is supported (servers migrate on first use)\n\n${USAGE}`);
      return 2;
    }
    console.log(PostgresGlobalStore.migrationSql(values.schema));
    return 0;
  }
  const print = (human: string, data: unknown): void => console.log(values.json ? JSON.stringify(data, null, 2) : human);
  if ((command === 'revoke' || command === 'rekey') && values['admin-url'] !== undefined) {
    const principal = command === 'revoke' ? positionals[2] ?? positionals[1] : undefined;
    if (command === 'revoke' && principal === undefined) {
      console.error(`sessiond revoke: missing <principal>\n\n${USAGE}`);
      return 2;
    }
    const r = await postAdminAction(values['admin-url'], command, command === 'revoke' ? { principal, except: values.except ?? [] } : {});
    print(command === 'revoke' ? `destroyed ${String(r.destroyed)} sessions` : `rewrote ${String(r.rewritten)} sessions under the current key`, r);
    return 0;
  }
  if (command === 'stats' && values['admin-url'] !== undefined) {
    const s = await fetchAdminStats(values['admin-url']);
    print(formatStats(s), s);
    return 0;
  }
  if (dir === undefined) {
    console.error(`sessiond ${command}: missing <dir>\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case 'verify': {
      const keys = loadKeys(values['keys-file']);
      const r = await verifyStore(nodeFileSystem, dir, keys === undefined ? undefined : resolveEncryption(keys));
      const lines = [
        ...r.logs.map(
          (l) =>
            `${l.file}: generation ${l.generation ?? '-'}, ${l.records} records, ${l.tornBytes} torn tail bytes${l.problems.map((p) => `\n  PROBLEM ${p}`).join('')}${l.warnings.map((w) => `\n  WARNING ${w}`).join('')}`,
        ),
        `${r.database.file}: ${r.database.images} images${r.database.problems.map((p) => `\n  PROBLEM ${p}`).join('')}${r.database.warnings.map((w) => `\n  WARNING ${w}`).join('')}`,
        ...(r.keysNotGiven.length === 0 ? [] : [`sealed under ${r.keysNotGiven.join(', ')}: authentication tags not checked (give --keys-file)`]),
        r.ok ? 'ok: no corruption found' : 'CORRUPT: see the problems above (open with salvage: true to keep what is readable)',
      ];
      print(lines.join('\n'), r);
      return r.ok ? 0 : 1;
    }
    case 'revoke':
    case 'rekey': {
      const principal = positionals[2];
      if (command === 'revoke' && principal === undefined) {
        console.error(`sessiond revoke: missing <principal>\n\n${USAGE}`);
        return 2;
      }
      const encryption = loadKeys(values['keys-file']);
      const engine = await SessionEngine.open({ dir, ...(encryption === undefined ? {} : { encryption }) });
      try {
        if (command === 'revoke') {
          const n = await engine.destroyAllOf(principal!, { except: values.except ?? [] });
          print(`destroyed ${n} sessions of the principal`, { destroyed: n });
        } else {
          const n = await engine.rekey();
          print(`rewrote ${n} sessions under key ${engine.options.encryption?.current ?? '(none: clear)'}`, { rewritten: n, key: engine.options.encryption?.current });
        }
      } finally {
        await engine.close();
      }
      return 0;
    }
    case 'stats':
    case 'recover':
    case 'compact': {
      const encryption = loadKeys(values['keys-file']);
      const engine = await SessionEngine.open({ dir, ...(encryption === undefined ? {} : { encryption }) });
      try {
        if (command === 'stats') {
          const s = await engine.stats();
          print(formatStats(s), s);
        } else if (command === 'recover') {
          print(`recovered ${engine.recovery.sessionsRecovered} sessions: ${engine.recovery.recordsReplayed} records replayed, ${engine.recovery.bytesDiscarded} bytes discarded, ${engine.recovery.ms} ms`, engine.recovery);
        } else {
          const c = await engine.compact();
          print(`compacted: ${c.bytesBefore} → ${c.bytesAfter} bytes, ${c.moved} sessions moved`, c);
        }
      } finally {
        await engine.close();
      }
      return 0;
    }
    default:
      console.error(`sessiond: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(isSessiondError(e) ? `sessiond: ${e.code}: ${e.message}` : `sessiond: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
