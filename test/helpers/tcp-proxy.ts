import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 the test controls, to make network faults a socket cannot make
 * by itself: `cut()` drops every connection without a close frame (both sides see the TCP
 * connection end abruptly), `freeze()` stops forwarding while keeping the connections open (a
 * half-open peer), `thaw()` resumes.
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections open through the proxy. */
  readonly open: number;
  cut(): void;
  /**
   * While on, new connections are dropped at once (the server unreachable): a test can act
   * while a cut client is away, however fast it reconnects.
   */
  refuse(on: boolean): void;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let frozen = false;
  let refusing = false;
  const server = net.createServer((inbound) => {
    if (refusing) return void inbound.resetAndDestroy();
    const outbound = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
    forward(inbound, outbound);
    forward(outbound, inbound);
    const drop = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', drop).on('error', drop);
    outbound.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = (): void => {
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port,
    get open() {
      return pairs.size;
    },
    cut,
    refuse(on: boolean) {
      refusing = on;
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
