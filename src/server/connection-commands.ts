import { createHash, timingSafeEqual } from 'node:crypto';
import type { CommandCall, CommandSpec } from './command-context.js';
import { NOT_INTEGER, parseInteger } from './expire-args.js';
import { NULL, OK, array, bulk, error, int, map, simple, type Reply } from './resp-serializer.js';

/** Commands about the connection itself: PING, ECHO, AUTH, HELLO, CLIENT, SELECT, QUIT. */

/** The Redis version sessiond answers as: clients enable features by it (HELLO, INFO). */
export const REDIS_VERSION = '7.0.0';

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

/** Constant-time: compares SHA-256 digests, so neither the length nor a prefix leaks. */
export function passwordMatches(given: Buffer, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function authenticate(call: CommandCall, user: Buffer | undefined, pass: Buffer): Reply | undefined {
  const expected = call.server.options.password;
  if (expected === undefined) {
    return error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  const userOk = user === undefined || user.toString('latin1') === 'default';
  if (!passwordMatches(pass, expected) || !userOk) return error(WRONGPASS);
  call.client.authenticated = true;
  return undefined;
}

const ping: CommandSpec = {
  name: 'ping',
  arity: -1,
  kind: 'meta',
  loading: true,
  run: (call) => (call.args.length > 2 ? error("ERR wrong number of arguments for 'ping' command") : call.args.length === 2 ? bulk(call.args[1]!) : simple('PONG')),
};

const echo: CommandSpec = { name: 'echo', arity: 2, kind: 'meta', loading: true, run: (call) => bulk(call.args[1]!) };

const auth: CommandSpec = {
  name: 'auth',
  arity: -2,
  kind: 'meta',
  loading: true,
  noAuth: true,
  run(call) {
    if (call.args.length > 3) return error('ERR syntax error');
    const [user, pass] = call.args.length === 3 ? [call.args[1], call.args[2]!] : [undefined, call.args[1]!];
    return authenticate(call, user, pass) ?? OK;
  },
};

const hello: CommandSpec = {
  name: 'hello',
  arity: -1,
  kind: 'meta',
  loading: true,
  noAuth: true,
  run(call) {
    let proto = call.client.proto;
    if (call.args.length >= 2) {
      const v = parseInteger(call.args[1]!);
      if (v === undefined) return error('ERR Protocol version is not an integer or out of range');
      if (v !== 2 && v !== 3) return error('NOPROTO unsupported protocol version');
      proto = v;
    }
    let name: string | undefined;
    for (let i = 2; i < call.args.length; i++) {
      const word = call.args[i]!.toString('latin1').toUpperCase();
      if (word === 'AUTH' && i + 2 < call.args.length) {
        const failed = authenticate(call, call.args[i + 1], call.args[i + 2]!);
        if (failed !== undefined) return failed;
        i += 2;
      } else if (word === 'SETNAME' && i + 1 < call.args.length) {
        name = call.args[++i]!.toString('latin1');
        if (!validName(name)) return error(BAD_NAME);
      } else return error(`ERR Syntax error in HELLO option '${call.args[i]!.toString('latin1')}'`);
    }
    if (!call.client.authenticated) {
      return error('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
    }
    call.client.proto = proto;
    if (name !== undefined) call.client.name = name;
    return map([
      [bulk('server'), bulk('redis')],
      [bulk('version'), bulk(REDIS_VERSION)],
      [bulk('proto'), int(proto)],
      [bulk('id'), int(call.client.id)],
      [bulk('mode'), bulk('standalone')],
      [bulk('role'), bulk('master')],
      [bulk('modules'), array([])],
    ]);
  },
};

const BAD_NAME = 'ERR Client names cannot contain spaces, newlines or special characters.';

function validName(name: string): boolean {
  return /^[\x21-\x7e]*$/.test(name);
}

function clientLine(c: CommandCall['client'], now: number): string {
  return `id=${c.id} addr=${c.addr} name=${c.name} age=${Math.floor((now - c.createdAtMs) / 1000)} db=0 resp=${c.proto} lib-name=${c.libName} lib-ver=${c.libVer}`;
}

const client: CommandSpec = {
  name: 'client',
  arity: -2,
  kind: 'meta',
  loading: true,
  run(call) {
    const sub = call.args[1]!.toString('latin1').toLowerCase();
    const n = call.args.length;
    const arity = (): Reply => error(`ERR wrong number of arguments for 'client|${sub}' command`);
    const now = call.server.clock.now();
    switch (sub) {
      case 'id':
        return n === 2 ? int(call.client.id) : arity();
      case 'getname':
        return n === 2 ? (call.client.name === '' ? NULL : bulk(call.client.name)) : arity();
      case 'setname': {
        if (n !== 3) return arity();
        const name = call.args[2]!.toString('latin1');
        if (!validName(name)) return error(BAD_NAME);
        call.client.name = name;
        return OK;
      }
      case 'setinfo': {
        if (n !== 4) return arity();
        const attr = call.args[2]!.toString('latin1').toLowerCase();
        const value = call.args[3]!.toString('latin1');
        if (attr !== 'lib-name' && attr !== 'lib-ver') return error(`ERR Unrecognized option '${call.args[2]!.toString('latin1')}'`);
        if (!validName(value)) return error(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
        if (attr === 'lib-name') call.client.libName = value;
        else call.client.libVer = value;
        return OK;
      }
      case 'info':
        return bulk(clientLine(call.client, now) + '\n');
      case 'list':
        return bulk([...call.server.clients()].map((c) => clientLine(c, now) + '\n').join(''));
      default:
        return error(`ERR unknown subcommand '${call.args[1]!.toString('latin1').slice(0, 128)}'. Try CLIENT HELP.`);
    }
  },
};

const select: CommandSpec = {
  name: 'select',
  arity: 2,
  kind: 'meta',
  loading: true,
  run(call) {
    const db = parseInteger(call.args[1]!);
    if (db === undefined) return error(NOT_INTEGER);
    return db === 0 ? OK : error('ERR DB index is out of range');
  },
};

const quit: CommandSpec = {
  name: 'quit',
  arity: -1,
  kind: 'meta',
  loading: true,
  noAuth: true,
  run(call) {
    call.quit();
    return OK;
  },
};

export const CONNECTION_COMMANDS: readonly CommandSpec[] = [ping, echo, auth, hello, client, select, quit];
