/**
 * The test proxy itself (kind: unit, loopback sockets only): what stall(from) holds and
 * lets through, what heal() and cut() do with what was held. The outage tests' "a command
 * in flight" depends on it: a pipelining client's earlier command, sent a moment before the
 * stall but not yet read by the proxy, must go on, or the command under test never leaves
 * the client.
 */
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TcpCutProxy, closeBehind } from './tcp-cut-proxy.js';
import { until } from './until.js';

/** An upstream that echoes every byte back. */
const echo = net.createServer((s) => s.pipe(s));
const servers: TcpCutProxy[] = [];
after(async () => {
  for (const p of servers) await p.close();
  await new Promise((r) => echo.close(r));
});

async function connected(): Promise<{ proxy: TcpCutProxy; client: net.Socket; got: () => string }> {
  if (!echo.listening) await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const proxy = await TcpCutProxy.start((echo.address() as net.AddressInfo).port);
  servers.push(proxy);
  const client = net.connect(proxy.port, '127.0.0.1');
  client.on('error', () => undefined);
  let text = '';
  client.on('data', (d: Buffer) => (text += d.toString('latin1')));
  await new Promise((r) => client.once('connect', r));
  client.write('hello;');
  await until('the echo answers', () => text === 'hello;');
  return { proxy, client, got: () => text };
}

it('stall(from) lets through what was sent before the text, even if not read yet, and holds from the text on', async () => {
  const { proxy, client, got } = await connected();
  client.write('earlier;'); // in the proxy's socket, not read yet
  proxy.stall('TURN');
  await until('the earlier command is answered', () => got().endsWith('earlier;'));
  client.write('take TU'); // the text split across two chunks: this one goes on
  await until('the first half is answered', () => got().endsWith('take TU'));
  client.write('RN-x;');
  client.write('after;');
  await until('the command is held', () => proxy.held.includes('RN-x;') && proxy.held.endsWith('after;'));
  assert.ok(!proxy.held.includes('earlier'), proxy.held);
  proxy.heal(); // what was held goes on, in order
  await until('the held bytes are answered once healed', () => got().endsWith('take TURN-x;after;'));
  client.destroy();
});

it('cut() drops what was held and the connections, and refuses new ones until heal()', async () => {
  const { proxy, client, got } = await connected();
  proxy.stall();
  client.write('lost;');
  await until('held', () => proxy.held === 'lost;');
  const closed = new Promise((r) => client.once('close', r));
  proxy.cut();
  await closed;
  const refused = net.connect(proxy.port, '127.0.0.1');
  refused.on('error', () => undefined);
  await new Promise((r) => refused.once('close', r));
  proxy.heal();
  const again = await new Promise<net.Socket>((r) => {
    const s = net.connect(proxy.port, '127.0.0.1', () => r(s));
  });
  let text = '';
  again.on('data', (d: Buffer) => (text += d.toString('latin1')));
  again.write('back;');
  await until('a new connection is answered', () => text === 'back;');
  assert.equal(got(), 'hello;');
  again.destroy();
});

it('closeBehind: a close still waiting on its connection after the grace is cut loose, so an after hook ends', { timeout: 30_000 }, async () => {
  const { proxy, client } = await connected();
  // Ends only when its connection does, which nothing but the proxy's cut makes happen.
  const waiting = { close: () => new Promise<void>((r) => client.once('close', () => r())) };
  await closeBehind(proxy, [waiting], 50);
  assert.ok(client.destroyed);
});
