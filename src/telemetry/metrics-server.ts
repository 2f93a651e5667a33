/**
 * The HTTP endpoint of `--metrics-addr`: `GET /metrics` in Prometheus's text format, nothing else. It
 * only reads the registry, so it needs no token; the address decides who can reach it (metrics-address.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { MetricsAddress } from './metrics-address.ts';

export interface MetricsServer {
  /** The address it listens on, with the port the system chose for port 0. */
  host: string;
  port: number;
  /** `http://HOST:PORT/metrics`. */
  url: string;
  close(): Promise<void>;
}

export class MetricsServerError extends Error {
  constructor(
    readonly address: MetricsAddress,
    override readonly cause: Error,
  ) {
    super(`cannot serve metrics on ${formatHostPort(address.host, address.port)}: ${cause.message}`);
    this.name = 'MetricsServerError';
  }
}

export async function startMetricsServer(
  address: MetricsAddress,
  registry: Registry,
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' })
        .end('read-only: GET /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('midflight serves GET /metrics only\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: Error) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`);
      },
    );
  });
  // Note: a scrape in progress must not keep a finished run's process alive.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MetricsServerError(address, err)));
    server.listen(address.port, address.host, () => resolve());
  });
  const { address: host, port } = server.address() as AddressInfo;
  return {
    host,
    port,
    url: `http://${formatHostPort(host, port)}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
