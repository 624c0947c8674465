import { createServer, connect, type Server, type Socket } from 'node:net';
import { promises as fsp } from 'node:fs';
import { LOCK_MUTEX_NAME_PREFIX, LOCK_LINE_BYTES_MAX } from '../format/constants.js';
import type { DirMutex } from './file-system.js';

/** How long a refused opener waits for the holder to say who it is (its event loop may be busy). */
const HOLDER_ANSWER_MS_MAX = 2000;
/** Binds tried when the holder is gone by the time we ask it who it is (it was just closing). */
const BIND_ATTEMPTS_MAX = 3;

/**
 * The kernel-held mutex behind the store lock (docs/format.md §6): a listening socket in
 * Linux's abstract namespace, named after the directory's device and inode. bind() is atomic
 * (the second binder gets EADDRINUSE) and the name is freed the instant the holder's last fd
 * closes, so a process killed with SIGKILL (or a zombie) never keeps it. The holder answers
 * every connection with `describe`, which is how a refused opener learns the holder's pid.
 * Elsewhere there is no abstract namespace: resolves undefined.
 */
export async function acquireDirMutex(dir: string, describe: string): Promise<DirMutex | undefined> {
  if (process.platform !== 'linux') return undefined;
  const st = await fsp.stat(dir, { bigint: true });
  const name = `\0${LOCK_MUTEX_NAME_PREFIX}${st.dev}-${st.ino}`;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // an asker that went away is no concern of ours
    socket.end(describe);
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await listen(server, name);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      const holder = await askHolder(name);
      if (holder === 'gone' && attempt < BIND_ATTEMPTS_MAX) continue;
      throw Object.assign(new Error(`EADDRINUSE: ${dir} is held by another owner`), { code: 'EADDRINUSE', holder: holder === 'gone' ? undefined : holder });
    }
  }
  server.unref(); // the lock must not keep a process alive
  server.on('error', () => undefined);
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= new Promise<void>((resolve) => {
        // close() frees the name only once every connection is gone: do not wait for askers.
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}

function listen(server: Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // exclusive: a cluster worker must bind for itself, not share the primary's handle.
    server.listen({ path: name, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * What the holder says about itself; undefined when it does not answer in time; 'gone'
 * when nobody listens any more (the holder released the name after our bind failed).
 */
function askHolder(name: string): Promise<string | undefined | 'gone'> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ path: name });
    const done = (v: string | undefined | 'gone'): void => {
      socket.destroy();
      resolve(v);
    };
    socket.setEncoding('latin1');
    socket.setTimeout(HOLDER_ANSWER_MS_MAX, () => done(undefined));
    socket.on('data', (d: string) => {
      text += d;
      if (text.length > LOCK_LINE_BYTES_MAX) done(undefined);
    });
    // A holder closing as we ask resets the connection without a word: treat it as gone.
    socket.on('end', () => done(text === '' ? 'gone' : text));
    socket.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ENOENT' ? 'gone' : undefined));
  });
}
