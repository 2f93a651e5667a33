import { describe, expect, it } from 'vitest';
import { applyCreateDefaults } from '../../src/sandbox/api/defaults.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { buildCluster } from '../../src/sandbox/scenario/build-cluster.ts';
import { decodeHelmRelease } from '../../src/sandbox/scenario/helm-release.ts';
import { listScenarios, loadScenario } from '../../src/sandbox/scenario/load-scenario.ts';
import { POOL_LABEL } from '../../src/sandbox/scenario/node-object.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { ScenarioError } from '../../src/sandbox/scenario/yaml-checker.ts';
import { DAEMONSET_TOLERATIONS } from '../../src/sandbox/sim/controllers/node-eligibility.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';
import { scenarioTestContext } from './scenario-test-context.ts';

function issuesOf(text: string) {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).issues;
  }
  throw new Error('expected the scenario to be rejected');
}

const MINIMAL = `name: tiny
kubernetesVersion: v1.31.4
`;

describe('scenario validation', () => {
  it('reports every problem with its path, line:column and what was expected', () => {
    const issues = issuesOf(`name: tiny
kubernetesVersion: v1.31.4
nodePools:
  - name: general
    count: 2
    capacity: { cpu: "4", memory: 16Gi }
  - name: compute
    count: 1
    capacity:
      cpu: lots
      memory: 8Gi
workloads:
  - name: web
    namespace: shop
    kind: Deployment
    replicas: three
`);
    expect(issues).toEqual([
      expect.objectContaining({
        file: 'bad.yaml',
        path: 'nodePools[1].capacity.cpu',
        line: 10,
        column: 12,
        message: 'expected a quantity like "4" or "500m", got "lots"',
      }),
      expect.objectContaining({
        path: 'workloads[0].replicas',
        line: 16,
        message: 'expected a whole number, got "three"',
      }),
    ]);
    try {
      parseScenario('name: x\nkubernetesVersion: 1.31\n', 'bad.yaml');
    } catch (err) {
      expect((err as Error).message).toContain(
        'bad.yaml:2:20: kubernetesVersion: expected a version like "v1.31.4", got 1.31',
      );
    }
  });

  it.each([
    [
      'an unknown field (typo protection)',
      `${MINIMAL}nodePool: []\n`,
      'nodePool',
      'unknown field "nodePool"',
    ],
    [
      'a missing required field',
      'name: tiny\n',
      'kubernetesVersion',
      'missing required field "kubernetesVersion"',
    ],
    [
      'a PDB with both budgets',
      `${MINIMAL}workloads:\n  - { name: a, namespace: b, kind: Deployment, pdb: { minAvailable: 1, maxUnavailable: 1 } }\n`,
      'workloads[0].pdb',
      'expected exactly one of minAvailable or maxUnavailable, got both',
    ],
    [
      'a kubelet newer than the control plane',
      `${MINIMAL}nodePools:\n  - { name: p, count: 1, version: v1.32.0, capacity: { cpu: "1", memory: 1Gi } }\n`,
      'nodePools[0].version',
      'kubelet v1.32.0 must not be newer than the control plane (v1.31.4)',
    ],
    [
      'a bad percentage',
      `${MINIMAL}workloads:\n  - { name: a, namespace: b, kind: Deployment, pdb: { maxUnavailable: "half" } }\n`,
      'workloads[0].pdb.maxUnavailable',
      'expected a whole number or a percentage like "50%", got "half"',
    ],
    [
      'a fault with a bad selector',
      `${MINIMAL}faults:\n  ignoreSigterm: ["app in (a"]\n`,
      'faults.ignoreSigterm[0]',
      'expected a label selector',
    ],
    [
      'a negative etcd commit latency',
      `${MINIMAL}faults:\n  etcdSlowDisk: { cp-1: -1 }\n`,
      'faults.etcdSlowDisk.cp-1',
      'expected a number ≥ 0, got -1',
    ],
    [
      'a storage class that is not a DNS label',
      `${MINIMAL}workloads:\n  - { name: a, namespace: b, kind: StatefulSet, storageClass: Fast_SSD }\n`,
      'workloads[0].storageClass',
      'expected',
    ],
  ])('rejects %s', (_what, text, path, message) => {
    const issues = issuesOf(text);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)!.message).toContain(message);
  });

  it.each<[string, string, { path: string; line: number; column: number; message: string }]>([
    [
      'a badly indented line (at its line, not 1:1)',
      `${MINIMAL}nodePools:\n  - name: p\n   count: 1\n`,
      { path: '', line: 5, column: 1, message: 'YAML syntax: Sequence item without - indicator' },
    ],
    [
      'a file cut off inside a list',
      `${MINIMAL}nodePools:\n  - name: p\n    count: [1\n`,
      {
        path: '',
        line: 5,
        column: 13,
        message:
          'YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ] (the file stops before the document is closed: is it complete?)',
      },
    ],
    [
      'kubernetesVersion: 1.30, which YAML reads as 1.3',
      'name: tiny\nkubernetesVersion: 1.30\n',
      {
        path: 'kubernetesVersion',
        line: 2,
        column: 20,
        message: 'expected a version like "v1.31.4", got 1.30',
      },
    ],
    [
      'a pool version: 1.10, which YAML reads as 1.1',
      `${MINIMAL}nodePools:\n  - { name: p, count: 1, version: 1.10, capacity: { cpu: "1", memory: 1Gi } }\n`,
      {
        path: 'nodePools[0].version',
        line: 4,
        column: 35,
        message: 'expected a version like "v1.31.4", got 1.10',
      },
    ],
  ])('reports %s where it is, as written', (_, text, expected) => {
    expect(issuesOf(text)).toEqual([{ file: 'bad.yaml', ...expected }]);
  });

  it('reads a Helm appVersion that YAML takes for a number as written', () => {
    const scenario = parseScenario(
      `${MINIMAL}helmReleases:\n  - {name: app, namespace: web, chart: app, version: 1.2.0, appVersion: 1.10, manifest: ""}\n`,
      'ok.yaml',
    );
    expect(scenario.helmReleases[0]).toMatchObject({ version: '1.2.0', appVersion: '1.10' });
  });

  it('fills defaults and converts timing to milliseconds', () => {
    const s = parseScenario(`${MINIMAL}timing: { podStartSeconds: 1.5 }\n`, 'ok.yaml');
    expect(s.controlPlane.nodes).toBe(3);
    expect(s.timing).toEqual({ podStartMs: 1500 });
    expect(s.faults.upgradeFailures).toEqual({});
  });
});

describe('built-in scenarios', () => {
  it('all load and validate', () => {
    const names = listScenarios().map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['demo', 'pdb-deadlock', 'pdb-heavy', 'regression', 'large']),
    );
    for (const name of names) expect(loadScenario(name).name).toBe(name);
  });

  it('names the built-ins when asked for an unknown one', () => {
    expect(() => loadScenario('nope')).toThrow(/built-ins: demo, large, pdb-deadlock, pdb-heavy, regression/);
  });
});

describe('pool zones', () => {
  it('deals the nodes of a pool over the zones it names, and the others over the three default zones', () => {
    const ctx = scenarioTestContext();
    buildCluster(
      ctx,
      parseScenario(
        `name: zoned
kubernetesVersion: v1.31.4
controlPlane: { nodes: 1 }
nodePools:
  - { name: east, count: 3, zones: [us-east-1a, us-east-1b], capacity: { cpu: "4", memory: 16Gi } }
  - { name: other, count: 3, capacity: { cpu: "4", memory: 16Gi } }
`,
        'zoned.yaml',
      ),
    );
    const zoneOf = (node: string) =>
      ctx.store.mustGet(R.nodes, undefined, node).metadata.labels!['topology.kubernetes.io/zone'];
    expect(['east-1', 'east-2', 'east-3'].map(zoneOf)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1a']);
    expect(new Set(['other-1', 'other-2', 'other-3'].map(zoneOf))).toEqual(
      new Set(['sandbox-1a', 'sandbox-1b', 'sandbox-1c']),
    );
  });
});

describe('buildCluster(demo)', () => {
  const ctx = scenarioTestContext();
  const scenario = loadScenario('demo');
  const built = buildCluster(ctx, scenario);
  const { store } = ctx;

  it('creates control-plane and pool nodes with labels, taints and full nodeInfo', () => {
    expect(built.nodes).toBe(3 + 4 + 3);
    const cp = store.mustGet(R.nodes, undefined, 'cp-2');
    expect(cp.metadata.labels).toMatchObject({
      'node-role.kubernetes.io/control-plane': '',
      [POOL_LABEL]: 'control-plane',
    });
    expect(cp.spec.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    const compute = store.mustGet(R.nodes, undefined, 'compute-3');
    expect(compute.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'compute-3',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'topology.kubernetes.io/zone': expect.stringMatching(/^sandbox-1[abc]$/),
      [POOL_LABEL]: 'compute',
      'workload-class': 'compute',
    });
    expect(compute.status.nodeInfo).toMatchObject({
      kubeletVersion: 'v1.29.10',
      kubeProxyVersion: '',
      containerRuntimeVersion: expect.stringMatching(/^containerd:\/\/1\.7\./),
      operatingSystem: 'linux',
      architecture: 'amd64',
    });
    expect(compute.status.addresses.map((a: { type: string }) => a.type)).toEqual(['InternalIP', 'Hostname']);
    const zones = new Set(store.list(R.nodes).map((n) => n.metadata.labels!['topology.kubernetes.io/zone']));
    expect(zones.size).toBe(3);
  });

  it('creates the add-ons with version-bearing images, CoreDNS with its PDB, and a failing-closed webhook', () => {
    const image = (resource: string, name: string) =>
      store.mustGet(resource, 'kube-system', name).spec.template.spec.containers[0].image;
    expect(image(R.daemonsets, 'kube-proxy')).toBe('registry.k8s.io/kube-proxy:v1.30.6');
    expect(image(R.daemonsets, 'calico-node')).toMatch(/^docker\.io\/calico\/node:v3\.27\./);
    expect(image(R.deployments, 'coredns')).toMatch(/^registry\.k8s\.io\/coredns\/coredns:v1\.11\./);
    expect(store.mustGet(R.deployments, 'kube-system', 'coredns').spec.replicas).toBe(2);
    expect(store.get(R.pdbs, 'kube-system', 'coredns')).toBeDefined();
    expect(store.get(R.csidrivers, undefined, 'hostpath.csi.k8s.io')).toBeDefined();
    const vwc = store.mustGet(R.validatingwebhooks, undefined, 'policy-webhook') as unknown as {
      webhooks: Array<{ failurePolicy: string; clientConfig: { service: { name: string } } }>;
    };
    expect(vwc.webhooks[0]!.failurePolicy).toBe('Fail');
    expect(store.get(R.services, 'kube-system', vwc.webhooks[0]!.clientConfig.service.name)).toBeDefined();
  });

  it('creates workloads, PDBs (percentages included) and services with traffic annotations', () => {
    expect(store.mustGet(R.pdbs, 'shop', 'frontend-pdb').spec.maxUnavailable).toBe('25%');
    expect(store.mustGet(R.pdbs, 'data', 'postgres-pdb').spec.maxUnavailable).toBe(1);
    expect(store.get(R.pdbs, 'platform', 'admin-dashboard-pdb')).toBeUndefined();
    const frontend = store.mustGet(R.deployments, 'shop', 'frontend');
    expect(JSON.parse(frontend.metadata.annotations!['sandbox.midflight.dev/traffic']!)).toEqual({
      rps: 120,
      latencyMs: 35,
      errorRatio: 0.001,
    });
    expect(store.get(R.services, 'shop', 'frontend')).toBeDefined();
    expect(store.mustGet(R.jobs, 'batch', 'report-generator').spec.selector.matchLabels).toHaveProperty(
      'batch.kubernetes.io/controller-uid',
    );
    expect(store.get(R.pods, 'default', 'debug-shell')?.metadata.ownerReferences).toBeUndefined();
  });

  it('stores the Helm release as Helm 3 does, decodable back to its manifest', () => {
    const secret = store.mustGet(R.secrets, 'platform', 'sh.helm.release.v1.ingress-nginx.v1');
    expect(secret.type).toBe('helm.sh/release.v1');
    expect(secret.metadata.labels).toMatchObject({
      owner: 'helm',
      name: 'ingress-nginx',
      status: 'deployed',
      version: '1',
    });
    const release = decodeHelmRelease(secret);
    expect(release.manifest).toBe(scenario.helmReleases[0]!.manifest);
    expect(release.manifest).toContain('autoscaling/v2beta2');
  });

  it('gives a workload with a storage class a generic ephemeral volume of that class, and creates the class', () => {
    const ctx = scenarioTestContext();
    buildCluster(
      ctx,
      parseScenario(
        `${MINIMAL}workloads:\n  - { name: db, namespace: data, kind: StatefulSet, replicas: 2, storageClass: fast-ssd }\n`,
        't.yaml',
      ),
    );
    const volumes = ctx.store.get(R.statefulsets, 'data', 'db')!.spec.template.spec.volumes;
    expect(volumes).toEqual([
      {
        name: 'data',
        ephemeral: {
          volumeClaimTemplate: {
            spec: {
              storageClassName: 'fast-ssd',
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: '1Gi' } },
            },
          },
        },
      },
    ]);
    expect(ctx.store.get(R.storageclasses, undefined, 'fast-ssd')).toMatchObject({
      provisioner: 'block.csi.sandbox.midflight.dev',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
  });

  it('creates the extra objects as written', () => {
    const cm = store.mustGet('configmaps', 'platform', 'legacy-settings');
    expect(cm.metadata.annotations).toHaveProperty('kubectl.kubernetes.io/last-applied-configuration');
  });
});

describe('buildCluster with prebindPods', () => {
  it('creates pods bound, Running and Ready, owned as the controllers own them', () => {
    const ctx = scenarioTestContext();
    const scenario = parseScenario(
      `name: pre
kubernetesVersion: v1.31.4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 3, capacity: { cpu: "4", memory: 16Gi } }]
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 5, pdb: { maxUnavailable: 1 } }
  - { name: db, namespace: app, kind: StatefulSet, replicas: 2 }
`,
      'pre.yaml',
    );
    buildCluster(ctx, scenario);
    const pods = ctx.store.list(R.pods, 'app');
    expect(pods).toHaveLength(7);
    for (const pod of pods) {
      expect(pod.spec.nodeName).toMatch(/^general-/);
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
    }
    const rs = ctx.store.list(R.replicasets, 'app');
    expect(rs).toHaveLength(1);
    expect(pods.filter((p) => p.metadata.ownerReferences?.[0]?.name === rs[0]!.metadata.name)).toHaveLength(
      5,
    );
    expect(ctx.store.get(R.pods, 'app', 'db-1')?.metadata.ownerReferences?.[0]?.kind).toBe('StatefulSet');
    // DaemonSet add-ons run on every node, control plane included.
    expect(
      ctx.store.list(R.pods, 'kube-system', (p) => p.metadata.labels?.['k8s-app'] === 'kube-proxy'),
    ).toHaveLength(4);
  });
  it('gives every pre-bound pod the spec the API server would default for it, key order included', () => {
    // Note: the pre-binder defaults a workload's template once and adds each pod's own fields on top; this holds
    // it to defaulting each pod's whole spec, as it did before.
    const ctx = scenarioTestContext();
    const scenario = parseScenario(
      `name: pre
kubernetesVersion: v1.31.4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 3, capacity: { cpu: "4", memory: 16Gi } }]
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3 }
  - { name: db, namespace: app, kind: StatefulSet, replicas: 2 }
  - { name: agent, namespace: app, kind: DaemonSet, tolerations: [{ operator: Exists }] }
`,
      'pre.yaml',
    );
    buildCluster(ctx, scenario);
    const defaulted = (spec: KubeObject['spec'], nodeName: string) => {
      const pod: KubeObject = { metadata: {}, spec: structuredClone(spec) };
      applyCreateDefaults(R.pods, pod, () => 0);
      return JSON.stringify({ ...pod.spec, nodeName });
    };
    const templateOf = (resource: string, name: string) =>
      ctx.store.get(resource, 'app', name)!.spec.template.spec;
    const pods = ctx.store.list(R.pods, 'app');
    // 3 of the Deployment, 2 of the StatefulSet, one daemon on each of the 4 nodes.
    expect(pods).toHaveLength(9);
    for (const pod of pods) {
      const owner = pod.metadata.ownerReferences![0]!;
      const nodeName = pod.spec.nodeName;
      let expected: string;
      if (owner.kind === 'DaemonSet') {
        const template = templateOf(R.daemonsets, owner.name);
        const tolerations = [...(template.tolerations ?? []), ...DAEMONSET_TOLERATIONS];
        const affinity = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] },
              ],
            },
          },
        };
        expected = defaulted({ ...template, tolerations, affinity }, nodeName);
      } else if (owner.kind === 'StatefulSet') {
        const template = templateOf(R.statefulsets, owner.name);
        expected = defaulted({ ...template, hostname: pod.metadata.name, subdomain: 'db' }, nodeName);
      } else {
        expected = defaulted(templateOf(R.replicasets, owner.name), nodeName);
      }
      expect(JSON.stringify(pod.spec), pod.metadata.name).toBe(expected);
    }
  });
});

describe('scenario quantities', () => {
  it('accepts the n and u suffixes the API server accepts, and fits pre-bound pods by their value', () => {
    const ctx = scenarioTestContext();
    // 3,000,000,000n is 3 cores: two such pods never share a 4-core node.
    const scenario = parseScenario(
      `name: nano
kubernetesVersion: v1.31.4
prebindPods: true
nodePools: [{ name: general, count: 3, capacity: { cpu: "4000000u", memory: 16Gi } }]
workloads:
  - { name: big, namespace: app, kind: Deployment, replicas: 3, requests: { cpu: 3000000000n, memory: 64Mi } }
`,
      'nano.yaml',
    );
    buildCluster(ctx, scenario);
    const pods = ctx.store.list(R.pods, 'app');
    expect(pods).toHaveLength(3);
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
  });
});
