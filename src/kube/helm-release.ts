/**
 * Helm 3 release records, decoded from the Secrets Helm's default storage driver writes
 * (`sh.helm.release.v1.<name>.v<revision>`, label `owner=helm`).
 */
import { gunzipSync } from 'node:zlib';
import type { HelmRelease } from '../core/index.ts';

/** A Secret in wire JSON: `data` values are base64, as the API server sends them. */
export interface SecretJson {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];

/**
 * IMPORTANT: the encoding is layered. Helm gzips the release JSON and base64-encodes it into `release`;
 * the Secret's `data` base64-encodes those bytes again. So: base64 → base64 → gunzip → JSON.
 * Helm only gzips when the bytes start with the gzip magic; older records may be plain JSON.
 */
export function decodeHelmReleaseSecret(secret: SecretJson): HelmRelease {
  const where = `${secret.metadata.namespace ?? 'default'}/${secret.metadata.name}`;
  const field = secret.data?.release;
  if (!field) throw new Error(`Helm secret ${where} has no data.release`);
  const helmEncoded = Buffer.from(field, 'base64').toString('utf8');
  const bytes = Buffer.from(helmEncoded, 'base64');
  const isGzip = GZIP_MAGIC.every((b, i) => bytes[i] === b);
  const json = (isGzip ? gunzipSync(bytes) : bytes).toString('utf8');
  const release = JSON.parse(json) as {
    name?: string;
    namespace?: string;
    version?: number;
    manifest?: string;
    info?: { status?: string };
    chart?: { metadata?: { name?: string; version?: string } };
  };
  const labels = secret.metadata.labels ?? {};
  return {
    name: release.name ?? labels.name ?? secret.metadata.name,
    namespace: release.namespace ?? secret.metadata.namespace ?? 'default',
    revision: release.version ?? Number(labels.version ?? 0),
    chart: release.chart?.metadata?.name ?? '',
    chartVersion: release.chart?.metadata?.version,
    status: release.info?.status ?? labels.status ?? 'unknown',
    manifest: release.manifest ?? '',
  };
}

export function isHelmReleaseSecret(secret: SecretJson): boolean {
  return secret.type === 'helm.sh/release.v1' || secret.metadata.name.startsWith('sh.helm.release.v1.');
}
