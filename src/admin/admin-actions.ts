import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { SessionEngine } from '../engine/session-engine.js';
import { SessiondError, isSessiondError } from '../errors.js';

/**
 * The admin port's actions (POST): `/api/revoke` (destroyAllOf) and `/api/rekey` (rewrite
 * every image under the current key). Authenticated by the connection: only a peer on the
 * loopback interface, and only with the `x-sessiond-admin` header and a JSON body, which a
 * web page cannot send cross-origin without a preflight this server never answers.
 */

/** Largest request body an action reads. */
export const ACTION_BODY_BYTES_MAX = 64 * 1024;

export interface ActionResult {
  status: number;
  body: unknown;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined || isIP(address) === 0) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of req) {
    bytes += (c as Buffer).length;
    if (bytes > ACTION_BODY_BYTES_MAX) throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `body larger than ${ACTION_BODY_BYTES_MAX} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', 'body is not JSON');
  }
}

export async function runAction(engine: SessionEngine, action: string, req: IncomingMessage): Promise<ActionResult> {
  if (!isLoopback(req.socket.remoteAddress)) return { status: 403, body: { error: 'admin actions are taken from loopback only' } };
  if (req.headers['x-sessiond-admin'] !== '1' || !(req.headers['content-type'] ?? '').startsWith('application/json')) {
    return { status: 403, body: { error: 'admin actions need the x-sessiond-admin: 1 header and a JSON body' } };
  }
  try {
    const body = (await readBody(req)) as { principal?: unknown; except?: unknown };
    switch (action) {
      case 'revoke': {
        const except = body.except === undefined ? [] : body.except;
        if (typeof body.principal !== 'string' || !Array.isArray(except) || !except.every((e) => typeof e === 'string')) {
          return { status: 400, body: { error: 'expected { "principal": string, "except"?: string[] }' } };
        }
        return { status: 200, body: { destroyed: await engine.destroyAllOf(body.principal, { except: except as string[] }) } };
      }
      case 'rekey':
        return { status: 200, body: { rewritten: await engine.rekey() } };
      default:
        return { status: 404, body: { error: 'no such action' } };
    }
  } catch (e) {
    if (!isSessiondError(e)) throw e;
    return { status: e.status === 400 ? 400 : 503, body: { error: e.message, code: e.code } };
  }
}
