import type { CommandSpec } from './command-context.js';
import { SYNTAX_ERROR, parseInteger } from './expire-args.js';
import { globMatch } from './glob-match.js';
import { SCAN_POSITIONS, keyOf, scanPosition } from './key-value.js';
import { array, bulk, error, type Reply } from './resp-serializer.js';

/**
 * SCAN cursor [MATCH pattern] [COUNT n] [TYPE t] (docs/server.md "SCAN"). The cursor is a
 * position in a fixed hash order of the keys (scanPosition: a 30-bit FNV-1a hash of the
 * key's engine ID), and each call returns the keys from that position on: a key that exists for
 * the whole iteration is returned exactly once, whatever is written or deleted meanwhile,
 * and keys sharing a position are always returned together. MATCH filters after COUNT,
 * as in redis-server, so a call may return no key and a non-zero cursor.
 */
export const scan: CommandSpec = {
  name: 'scan',
  arity: -2,
  kind: 'read',
  run(call): Reply {
    const cursor = parseInteger(call.args[1]!);
    if (cursor === undefined || cursor < 0) return error('ERR invalid cursor');
    let count = 10;
    let match: string | undefined;
    let typeFilter: string | undefined;
    for (let i = 2; i < call.args.length; i++) {
      const word = call.args[i]!.toString('latin1').toUpperCase();
      const arg = call.args[i + 1];
      if (arg === undefined) return error(SYNTAX_ERROR);
      i++;
      if (word === 'COUNT') {
        const n = parseInteger(arg);
        if (n === undefined) return error('ERR value is not an integer or out of range');
        if (n < 1) return error(SYNTAX_ERROR);
        count = n;
      } else if (word === 'MATCH') match = arg.toString('latin1');
      else if (word === 'TYPE') typeFilter = arg.toString('latin1').toLowerCase();
      else return error(SYNTAX_ERROR);
    }
    if (cursor >= SCAN_POSITIONS) return array([bulk('0'), array([])]);
    const found: { pos: number; key: Buffer }[] = [];
    for (const s of call.server.engine.all()) {
      const pos = scanPosition(s.id);
      if (pos >= cursor) found.push({ pos, key: keyOf(s) });
    }
    found.sort((a, b) => a.pos - b.pos);
    let end = Math.min(count, found.length);
    while (end < found.length && found[end]!.pos === found[end - 1]!.pos) end++;
    const next = end < found.length ? found[end - 1]!.pos + 1 : 0;
    let keys = found.slice(0, end).map((f) => f.key);
    if (match !== undefined && match !== '*') keys = keys.filter((k) => globMatch(match, k.toString('latin1')));
    if (typeFilter !== undefined && typeFilter !== 'string') keys = [];
    return array([bulk(String(next)), array(keys.map((k) => bulk(k)))]);
  },
};
