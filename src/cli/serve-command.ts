import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serve } from '../server/server.js';
import { loadKeys } from './keys-file.js';
import { valuePrincipal } from '../server/value-principal.js';

export const SERVE_USAGE = `usage: sessiond serve <dir> [--port 6390] [--host 127.0.0.1] [--socket PATH] [--password-file FILE]
                      [--admin-port 9464] [--admin-host 127.0.0.1] [--migrate-keys] [--keys-file FILE] [--principal PATH]

  Serves the store in <dir> over the Redis protocol (docs/server.md). Without
  --password-file only loopback or a Unix socket is served. --admin-port serves /metrics
  and the admin page (docs/operations.md), on loopback unless --admin-host says otherwise; its actions
  (sessiond revoke/rekey --admin-url) answer loopback only. SIGTERM/SIGINT stop it cleanly.
  --migrate-keys rewrites a store written by an older sessiond serve (keys hashed into IDs) under its keys.
  --keys-file (or SESSIOND_KEYS) seals attributes at rest; --principal is the dotted path, in a
  JSON value, of whose session it is (userId, passport.user).`;

/**
 * `sessiond serve`: parses the arguments and calls serve(). Prints exactly one line once
 * the store is open and every command works (scripts and tests wait for it; during
 * recovery the server already answers with -LOADING); runs until SIGTERM or SIGINT.
 */
export async function serveCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      socket: { type: 'string' },
      'password-file': { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-host': { type: 'string' },
      'keys-file': { type: 'string' },
      principal: { type: 'string' },
      'migrate-keys': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [dir] = positionals;
  if (values.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  if (dir === undefined || positionals.length > 1) {
    console.error(`sessiond serve: expected exactly one <dir>\n\n${SERVE_USAGE}`);
    return 2;
  }
  const port = portArg('--port', values.port);
  const adminPort = portArg('--admin-port', values['admin-port']);
  if (port === null || adminPort === null) return 2;
  // The password file's first line; a trailing newline is not part of the password.
  const password = values['password-file'] === undefined ? undefined : readFileSync(values['password-file'], 'utf8').split(/\r?\n/)[0];
  if (password === '') {
    console.error('sessiond serve: the password file is empty');
    return 2;
  }
  const encryption = loadKeys(values['keys-file']);
  const engine = { ...(encryption === undefined ? {} : { encryption }), ...(values.principal === undefined ? {} : { principal: valuePrincipal(values.principal) }) };
  const server = await serve({ dir, port, host: values.host, socket: values.socket, password, adminPort, adminHost: values['admin-host'], migrateKeys: values['migrate-keys'] === true, engine });
  console.log(`sessiond serving ${dir} on ${server.address}`);
  if (server.admin !== undefined) console.error(`sessiond admin page and /metrics on ${server.admin.url}`);
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.close().then(
        () => resolve(0),
        (e: unknown) => {
          console.error(`sessiond serve: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** A port argument: undefined when absent, null (after saying why) when not a number. */
function portArg(flag: string, value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (Number.isInteger(n)) return n;
  console.error(`sessiond serve: ${flag} must be a number, got ${JSON.stringify(value)}`);
  return null;
}
