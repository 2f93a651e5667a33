import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ServerInfo } from '../core/index.ts';

/**
 * The API server's serving certificate, read from a TLS handshake with the kubeconfig's CA (or none when
 * it says insecure-skip-tls-verify). Undefined for plain HTTP, or when the handshake fails: the API calls
 * report that failure more usefully.
 */
export async function readServingCertificate(
  kc: KubeConfig,
  timeoutMs = 10_000,
): Promise<ServerInfo['tls'] | undefined> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return undefined;
  const url = new URL(cluster.server);
  if (url.protocol !== 'https:') return undefined;
  const ca = cluster.caData
    ? Buffer.from(cluster.caData, 'base64')
    : cluster.caFile
      ? readFileSync(cluster.caFile)
      : undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      ca,
      rejectUnauthorized: !cluster.skipTLSVerify,
      servername: cluster.tlsServerName ?? (isIp ? undefined : host),
    });
    const done = (value: ServerInfo['tls'] | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      if (!cert?.valid_to) return done(undefined);
      done({
        notAfter: new Date(cert.valid_to).toISOString(),
        notBefore: new Date(cert.valid_from).toISOString(),
        issuer: distinguishedName(cert.issuer),
        subject: distinguishedName(cert.subject),
      });
    });
  });
}

function distinguishedName(name: tls.Certificate | undefined): string | undefined {
  if (!name) return undefined;
  const parts = Object.entries(name as unknown as Record<string, string | string[]>).map(
    ([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`,
  );
  return parts.length > 0 ? parts.join(', ') : undefined;
}
