import { Prng } from '../../src/util/prng.js';

/** The cookie as express-session stores it (the JSON form of its Cookie). */
export interface CookieData {
  originalMaxAge: number;
  expires: string;
  secure: boolean;
  httpOnly: boolean;
  path: string;
  sameSite: string;
}

/** A realistic ~1 KiB session: a signed-in shopper with a cart, preferences and history. */
export interface BenchSession {
  cookie: CookieData;
  /** grows with every set of this session; what the last-write check compares */
  rev: number;
  counter: number;
  lastSeenAt: number;
  [field: string]: unknown;
}

export const SESSION_MAX_AGE_MS = 24 * 3600_000;

const FIRST = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Radia', 'Edsger', 'Frances'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Perlman', 'Dijkstra', 'Allen'];
const ITEMS = ['USB-C cable 2m', 'Mechanical keyboard', 'Noise-cancelling headphones', '27" monitor', 'Laptop stand', 'Webcam 1080p', 'Desk lamp', 'Ergonomic mouse'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function token(prng: Prng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[prng.int(64)];
  return s;
}

export function cookieFor(nowMs: number): CookieData {
  return {
    originalMaxAge: SESSION_MAX_AGE_MS,
    expires: new Date(nowMs + SESSION_MAX_AGE_MS).toISOString(),
    secure: false,
    httpOnly: true,
    path: '/',
    sameSite: 'lax',
  };
}

/** The application part of session `index` (everything but cookie, rev, counter, lastSeenAt). */
export function sessionBody(seed: number, index: number): Record<string, unknown> {
  const prng = new Prng(seed * 1_000_003 + index);
  const first = prng.pick(FIRST);
  const last = prng.pick(LAST);
  const cart = [];
  for (let i = 0, n = 2 + prng.int(3); i < n; i++) {
    cart.push({ sku: `SKU-${100000 + prng.int(900000)}`, title: prng.pick(ITEMS), qty: 1 + prng.int(3), priceCents: 499 + prng.int(50000) });
  }
  const viewed = [];
  for (let i = 0; i < 8; i++) viewed.push(`p${prng.int(1_000_000)}`);
  return {
    userId: `u_${index.toString(36)}_${token(prng, 6)}`,
    user: {
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}${prng.int(1000)}@example.com`,
      locale: prng.pick(['en-GB', 'en-US', 'fr-FR', 'de-DE', 'ja-JP']),
      roles: prng.bool(0.1) ? ['customer', 'admin'] : ['customer'],
      plan: prng.pick(['free', 'plus', 'business']),
    },
    csrfSecret: token(prng, 24),
    loginAt: 1_700_000_000_000 + prng.int(1e9),
    ip: `203.0.113.${prng.int(256)}`,
    oauth: { provider: prng.pick(['github', 'google']), accessTokenExpiresAt: 1_700_000_000_000 + prng.int(1e9), refreshToken: token(prng, 64) },
    cart,
    prefs: { theme: prng.pick(['dark', 'light']), currency: prng.pick(['EUR', 'USD', 'JPY']), tz: 'Europe/Paris', newsletter: prng.bool() },
    recentlyViewed: viewed,
    flash: [],
    returnTo: `/orders/${prng.int(1e6)}?tab=summary`,
  };
}

/** A fresh session object for a set: the body plus this write's rev, counter and cookie. */
export function makeSession(body: Record<string, unknown>, rev: number, counter: number, nowMs: number): BenchSession {
  return { cookie: cookieFor(nowMs), ...body, rev, counter, lastSeenAt: nowMs };
}

/** Size of a session's JSON text in bytes (the payload every store is given). */
export function sessionJsonBytes(session: unknown): number {
  return Buffer.byteLength(JSON.stringify(session));
}
