import net from 'node:net';

/**
 * A port nobody listens on now, on 127.0.0.1. Someone may take it before it is bound: whoever binds it
 * retries on "address already in use".
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
