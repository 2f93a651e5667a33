/** Objects the snapshot and CLI tests create in the sandbox over HTTP. */
import { gzipSync } from 'node:zlib';

/** A Helm 3 release Secret as Helm's storage driver writes it: data.release = base64(base64(gzip(JSON))). */
export function helmSecret(name: string, namespace: string, revision: number, manifest: string) {
  const release = {
    name,
    namespace,
    version: revision,
    info: { status: 'deployed', description: 'Upgrade complete' },
    chart: { metadata: { name: 'legacy-chart', version: '1.2.3', apiVersion: 'v2' } },
    config: {},
    manifest,
  };
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `sh.helm.release.v1.${name}.v${revision}`,
      namespace,
      labels: { owner: 'helm', name, status: 'deployed', version: String(revision) },
    },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(helmEncoded).toString('base64') },
  };
}

export const LEGACY_MANIFEST = `---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: legacy-budget
spec:
  minAvailable: 1
---
apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: PriorityLevelConfiguration
metadata:
  name: legacy-priority
`;

/** A live PodDisruptionBudget whose last-applied annotation says it was applied as policy/v1beta1. */
export const OLD_APPLIED_PDB = {
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: {
    name: 'old-applied',
    namespace: 'shop',
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
        apiVersion: 'policy/v1beta1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'old-applied', namespace: 'shop' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'nothing' } } },
      }),
    },
  },
  spec: { minAvailable: 1, selector: { matchLabels: { app: 'nothing' } } },
};
