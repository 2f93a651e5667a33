/**
 * The address `--metrics-addr HOST:PORT` names. The endpoint is read-only and unauthenticated, so it
 * listens on loopback unless the user says in so many words that it may not (`--metrics-allow-remote`):
 * what a run's metrics show (node names, budgets, gate names) is not for every host on the network.
 */
import { isIP } from 'node:net';

export interface MetricsAddress {
  host: string;
  /** 0: any free port (the one chosen is printed). */
  port: number;
}

export class MetricsAddressError extends Error {
  constructor(
    readonly address: string,
    message: string,
  ) {
    super(`--metrics-addr ${address}: ${message}`);
    this.name = 'MetricsAddressError';
  }
}

/** `127.0.0.1:9464`, `[::1]:9464`, `localhost:0`; `:9464` means loopback. */
export function parseMetricsAddress(text: string, options: { allowRemote?: boolean } = {}): MetricsAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match)
    throw new MetricsAddressError(text, 'expected HOST:PORT, e.g. 127.0.0.1:9464 (or [::1]:9464 for IPv6)');
  const host = match[1] ?? (match[2] || '127.0.0.1');
  const port = Number(match[3]);
  if (port > 65_535) throw new MetricsAddressError(text, `port ${port} is out of range (0–65535)`);
  if (match[1] !== undefined && isIP(host) !== 6)
    throw new MetricsAddressError(text, `${host} in brackets is not an IPv6 address`);
  if (!options.allowRemote && !isLoopback(host))
    throw new MetricsAddressError(
      text,
      `${host} is not a loopback address; the metrics endpoint has no authentication, so it listens on ` +
        `127.0.0.1 or ::1 unless --metrics-allow-remote is given`,
    );
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
