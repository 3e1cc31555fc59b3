import net from 'node:net';

/**
 * A TCP forwarder to a Redis (or anything) that a test controls, to take it away from one
 * instance only: `shut()` drops every connection and refuses new ones until `open()`;
 * `pause()` stops reading from either side (bytes wait in the kernel buffers, nothing is
 * lost: a slow Redis) until `resume()`.
 */
export interface TcpGate {
  readonly port: number;
  readonly url: string;
  shut(): void;
  open(): void;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpGate(targetPort: number): Promise<TcpGate> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const flow = ([a, b]: [net.Socket, net.Socket]): void => {
    a.pipe(b);
    b.pipe(a);
  };
  const stop = ([a, b]: [net.Socket, net.Socket]): void => {
    a.unpipe(b);
    b.unpipe(a);
    a.pause();
    b.pause();
  };
  let shut = false;
  let paused = false;
  const server = net.createServer((inbound) => {
    if (shut) {
      inbound.resetAndDestroy();
      return;
    }
    const outbound = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    if (paused) {
      inbound.pause();
      outbound.pause();
    } else {
      flow(pair);
    }
    const drop = (): void => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', drop).on('error', drop);
    outbound.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = (): void => {
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    shut() {
      shut = true;
      dropAll();
    },
    open() {
      shut = false;
    },
    pause() {
      paused = true;
      for (const pair of pairs) stop(pair);
    },
    resume() {
      paused = false;
      for (const pair of pairs) flow(pair);
    },
    async close() {
      shut = true;
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
