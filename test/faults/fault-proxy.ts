import net from 'node:net';

/**
 * A TCP proxy in front of one hub instance, for network faults the clients cannot make by
 * themselves. Each connection is known by the client's local port (the proxy's inbound remote
 * port), so one client's connection can be cut or frozen while the others flow.
 *
 * - `cut`: both sides are reset (no close frame: the hub sees the connection lost, the client
 *   a 1006).
 * - `freeze`: forwarding stops in both directions without losing a byte (a half-open peer, a
 *   stalled network); bytes wait in the kernel buffers until `thaw` or a cut.
 */
export interface FaultProxy {
  readonly port: number;
  /** Connections open through the proxy. */
  readonly open: number;
  cut(localPort: number): boolean;
  freeze(localPort: number): boolean;
  thaw(localPort: number): boolean;
  cutAll(): number;
  freezeAll(): number;
  thawAll(): void;
  close(): Promise<void>;
}

interface Pair {
  inbound: net.Socket;
  outbound: net.Socket;
  frozen: boolean;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Map<number, Pair>();
  let allFrozen = false;
  const flow = (p: Pair): void => {
    p.inbound.pipe(p.outbound);
    p.outbound.pipe(p.inbound);
  };
  const stop = (p: Pair): void => {
    p.inbound.unpipe(p.outbound);
    p.outbound.unpipe(p.inbound);
    p.inbound.pause();
    p.outbound.pause();
  };
  const server = net.createServer((inbound) => {
    const key = inbound.remotePort ?? -1;
    const outbound = net.connect(targetPort, '127.0.0.1');
    const pair: Pair = { inbound, outbound, frozen: allFrozen };
    pairs.set(key, pair);
    if (allFrozen) stop(pair);
    else flow(pair);
    const drop = (): void => {
      if (pairs.get(key) === pair) pairs.delete(key);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', drop).on('error', drop);
    outbound.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const reset = (p: Pair): void => {
    p.inbound.resetAndDestroy();
    p.outbound.resetAndDestroy();
  };
  return {
    port,
    get open() {
      return pairs.size;
    },
    cut(localPort) {
      const p = pairs.get(localPort);
      if (!p) return false;
      pairs.delete(localPort);
      reset(p);
      return true;
    },
    freeze(localPort) {
      const p = pairs.get(localPort);
      if (!p || p.frozen) return false;
      p.frozen = true;
      stop(p);
      return true;
    },
    thaw(localPort) {
      const p = pairs.get(localPort);
      if (!p || !p.frozen || allFrozen) return false;
      p.frozen = false;
      flow(p);
      return true;
    },
    cutAll() {
      const n = pairs.size;
      for (const p of pairs.values()) reset(p);
      pairs.clear();
      return n;
    },
    freezeAll() {
      allFrozen = true;
      for (const p of pairs.values()) {
        if (!p.frozen) {
          p.frozen = true;
          stop(p);
        }
      }
      return pairs.size;
    },
    thawAll() {
      allFrozen = false;
      for (const p of pairs.values()) {
        if (p.frozen) {
          p.frozen = false;
          flow(p);
        }
      }
    },
    async close() {
      for (const p of pairs.values()) reset(p);
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
