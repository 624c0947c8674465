import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serve } from '../server/server.js';

export const SERVE_USAGE = `usage: sessiond serve <dir> [--port 6390] [--host 127.0.0.1] [--socket PATH] [--password-file FILE]

  Serves the store in <dir> over the Redis protocol (docs/server.md). Without
  --password-file only loopback or a Unix socket is served. SIGTERM/SIGINT stop it cleanly.`;

/**
 * `sessiond serve`: parses the arguments and calls serve(). Prints exactly one line once
 * connections are accepted (scripts and tests wait for it); runs until SIGTERM or SIGINT.
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
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !Number.isInteger(port)) {
    console.error(`sessiond serve: --port must be a number, got ${JSON.stringify(values.port)}`);
    return 2;
  }
  // The password file's first line; a trailing newline is not part of the password.
  const password = values['password-file'] === undefined ? undefined : readFileSync(values['password-file'], 'utf8').split(/\r?\n/)[0];
  if (password === '') {
    console.error('sessiond serve: the password file is empty');
    return 2;
  }
  const server = await serve({ dir, port, host: values.host, socket: values.socket, password });
  console.log(`sessiond serving ${dir} on ${server.address}`);
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
