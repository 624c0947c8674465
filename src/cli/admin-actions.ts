import { SessiondError } from '../errors.js';

/**
 * The CLI's side of the admin port's actions (src/admin/admin-actions.ts): `sessiond revoke`
 * and `sessiond rekey` against a running `sessiond serve`. Loopback only: the admin port
 * refuses these from any other address.
 */
export async function postAdminAction(adminUrl: string, action: 'revoke' | 'rekey', body: unknown): Promise<Record<string, unknown>> {
  const url = new URL(`api/${action}`, adminUrl.endsWith('/') ? adminUrl : `${adminUrl}/`);
  if (!['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `--admin-url must be a loopback address (the admin port takes actions from loopback only), got ${url.hostname}`, { argument: 'admin-url' });
  }
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sessiond-admin': '1' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `${url.pathname}: HTTP ${res.status}: ${text.trim()}`, { argument: 'admin-url' });
  return JSON.parse(text) as Record<string, unknown>;
}
