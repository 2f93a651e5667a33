import { gunzipSync, gzipSync } from 'node:zlib';
import type { KubeObject } from '../store/types.ts';
import type { HelmReleaseSpec } from './scenario-types.ts';

/**
 * Helm 3 release records, stored exactly as Helm's Secret driver stores them, so that tools reading
 * releases (removed-API checks, `helm list`) decode them as they would in a real cluster.
 *
 * IMPORTANT: the encoding is layered. Helm gzips the release JSON and base64-encodes it into the Secret's
 * `data.release` value; the Secret's `data` is itself base64 of the bytes, so on the wire the field is
 * base64(base64(gzip(json))).
 */
export function helmReleaseSecret(spec: HelmReleaseSpec, deployedAt: string): KubeObject {
  const release = {
    name: spec.name,
    info: {
      first_deployed: deployedAt,
      last_deployed: deployedAt,
      deleted: '',
      description: spec.revision === 1 ? 'Install complete' : 'Upgrade complete',
      status: 'deployed',
    },
    chart: {
      metadata: {
        name: spec.chart,
        version: spec.version,
        ...(spec.appVersion ? { appVersion: spec.appVersion } : {}),
        apiVersion: 'v2',
      },
      lock: null,
      templates: [],
      values: {},
      schema: null,
      files: [],
    },
    config: {},
    manifest: spec.manifest,
    version: spec.revision,
    namespace: spec.namespace,
  };
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `sh.helm.release.v1.${spec.name}.v${spec.revision}`,
      namespace: spec.namespace,
      labels: {
        owner: 'helm',
        name: spec.name,
        status: 'deployed',
        version: String(spec.revision),
        modifiedAt: String(Math.floor(Date.parse(deployedAt) / 1000)),
      },
    },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(helmEncoded).toString('base64') },
  };
}

/** The release JSON inside a Helm Secret: the inverse of `helmReleaseSecret`. */
export function decodeHelmRelease(secret: KubeObject): {
  name: string;
  manifest: string;
  [k: string]: unknown;
} {
  const data = (secret.data as Record<string, string> | undefined)?.release;
  if (!data) throw new Error(`secret ${secret.metadata.name} has no data.release`);
  const helmEncoded = Buffer.from(data, 'base64').toString('utf8');
  return JSON.parse(gunzipSync(Buffer.from(helmEncoded, 'base64')).toString('utf8'));
}
