import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../helpers/client.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

/** An echo server, and clients through the proxy that record what comes back. */
let echo: net.Server | undefined;
let proxy: TcpProxy | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.close();
  proxy = undefined;
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  echo = undefined;
});

async function setup(): Promise<TcpProxy> {
  echo = net.createServer((s) => s.on('error', () => undefined).pipe(s));
  await new Promise<void>((resolve) => echo!.listen(0, '127.0.0.1', resolve));
  proxy = await startTcpProxy((echo.address() as net.AddressInfo).port);
  return proxy;
}

async function connect(p: TcpProxy) {
  const socket = net.connect(p.port, '127.0.0.1');
  sockets.push(socket);
  let got = '';
  let ended: string | undefined;
  socket.on('data', (d) => (got += d.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (ended = e.code));
  socket.on('close', () => (ended ??= 'closed'));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await waitFor(() => p.open === sockets.length);
  return { socket, got: () => got, ended: () => ended, localPort: socket.localPort! };
}

describe('TcpProxy (test helper)', () => {
  it('forwards both ways and says how many connections are open', async () => {
    const p = await setup();
    const a = await connect(p);
    a.socket.write('hello');
    await waitFor(() => a.got() === 'hello');
    expect(p.open).toBe(1);
    expect(p.url).toBe(`redis://127.0.0.1:${p.port}`);
  });

  it('cut resets one connection by its local port, or all', async () => {
    const p = await setup();
    const a = await connect(p);
    const b = await connect(p);
    const c = await connect(p);
    expect(p.cut(b.localPort)).toBe(1);
    expect(p.cut(b.localPort)).toBe(0);
    await waitFor(() => b.ended() !== undefined);
    expect(b.ended()).toBe('ECONNRESET');
    a.socket.write('still');
    await waitFor(() => a.got() === 'still');
    expect(p.cut()).toBe(2);
    await waitFor(() => a.ended() !== undefined && c.ended() !== undefined);
  });

  it('refuse resets new connections until turned off', async () => {
    const p = await setup();
    p.refuse(true);
    const s = net.connect(p.port, '127.0.0.1');
    const code = await new Promise<string | undefined>((resolve) => {
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      s.on('close', () => resolve('closed'));
    });
    expect(['ECONNRESET', 'closed']).toContain(code);
    expect(p.open).toBe(0);
    s.destroy();
    p.refuse(false);
    const a = await connect(p);
    a.socket.write('back');
    await waitFor(() => a.got() === 'back');
  });

  it('pause loses nothing: what was sent meanwhile arrives on resume', async () => {
    const p = await setup();
    const a = await connect(p);
    const b = await connect(p);
    expect(p.pause(a.localPort)).toBe(true);
    expect(p.pause(a.localPort)).toBe(false);
    a.socket.write('held');
    b.socket.write('flows');
    await waitFor(() => b.got() === 'flows');
    await sleep(50);
    expect(a.got()).toBe('');
    expect(p.resume(a.localPort)).toBe(true);
    await waitFor(() => a.got() === 'held');

    expect(p.pause()).toBe(2);
    const c = await connect(p); // new connections are paused too
    c.socket.write('new');
    a.socket.write('again');
    await sleep(50);
    expect(c.got()).toBe('');
    expect(p.resume(c.localPort)).toBe(false); // all paused: resume() undoes it
    p.resume();
    await waitFor(() => c.got() === 'new' && a.got() === 'heldagain');
  });

  it('freeze drops what is sent meanwhile; thaw lets later bytes flow', async () => {
    const p = await setup();
    const a = await connect(p);
    p.freeze();
    a.socket.write('void');
    await sleep(50);
    const b = await connect(p); // new connections are frozen too
    b.socket.write('void too');
    await sleep(50);
    p.thaw();
    a.socket.write('after');
    b.socket.write('later');
    await waitFor(() => a.got() === 'after' && b.got() === 'later');
    expect(p.open).toBe(2);
  });
});
