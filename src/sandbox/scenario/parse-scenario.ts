import { isMap } from 'yaml';
import { compareVersions, parseVersion, parseYamlSource } from '../../core/index.ts';
import { apiVersionOf, RESOURCES } from '../api/resources.ts';
import { DEFAULT_TIMING, type SimTiming } from '../context.ts';
import type { KubeObject } from '../store/types.ts';
import { emptyFaultsSpec, readFaults } from './faults-spec.ts';
import type {
  Capacity,
  ControlPlaneSpec,
  FaultsSpec,
  HelmReleaseSpec,
  NodePoolSpec,
  PdbSpec,
  Scenario,
  Taint,
  Toleration,
  TrafficSpec,
  WorkloadSpec,
} from './scenario-types.ts';
import { WORKLOAD_KINDS } from './scenario-types.ts';
import {
  bool,
  dnsLabel,
  int,
  intOrPercent,
  kubeVersion,
  labelValue,
  listOf,
  mapOf,
  num,
  path,
  quantity,
  type Read,
  readStruct,
  ScenarioError,
  str,
  struct,
  YamlChecker,
} from './yaml-checker.ts';

const DEFAULT_OS_IMAGE = 'Ubuntu 22.04.4 LTS';
const DEFAULT_RUNTIME = 'containerd://1.7.22';
const DEFAULT_KERNEL = '5.15.0-119-generic';
const DEFAULT_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.52';

const effect = str({ oneOf: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] });

const capacity = struct({ cpu: quantity, memory: quantity, pods: quantity }, ['cpu', 'memory']);

const taint = struct({ key: str(), value: str(), effect }, ['key', 'effect']);

const toleration = struct({
  key: str(),
  operator: str({ oneOf: ['Exists', 'Equal'] }),
  value: str(),
  effect,
  tolerationSeconds: int({ min: 0 }),
});

const labels = mapOf(labelValue);

const imageFields = { osImage: str(), containerRuntime: str(), kernel: str() };

/** Sections read after the top level, with the cluster version known: the reader only keeps the node. */
const deferred: Read<unknown> = (_c, node) => node;

/**
 * Seconds in the YAML, milliseconds in SimTiming: `podStartSeconds` → `podStartMs`; `spread` as written
 * (sim/timing-spread.ts), its seed 1 unless given.
 */
const TIMING_FIELDS = {
  ...Object.fromEntries(
    Object.keys(DEFAULT_TIMING).map((key) => [key.replace(/Ms$/, 'Seconds'), num({ min: 0 })]),
  ),
  spread: struct({ ratio: num({ min: 0, max: 0.5 }), seed: int({ min: 0 }) }, ['ratio']),
};

/**
 * Parses and validates a scenario. Every problem is collected, with its path in the document and its
 * line:column, and thrown together as one `ScenarioError`.
 */
export function parseScenario(text: string, file: string, source = file): Scenario {
  const yaml = parseYamlSource(text, { uniqueKeys: true });
  const c = new YamlChecker(file, yaml);
  const [syntax] = yaml.syntaxErrors;
  if (syntax) {
    // Note: the first only: the errors after a syntax error are most often the same mistake seen again.
    const { line, column, message, cutOff } = syntax;
    const why = cutOff ? ' (the file stops before the document is closed: is it complete?)' : '';
    c.issues.push({ file, path: '', line, column, message: `YAML syntax: ${message}${why}` });
    throw new ScenarioError(file, c.issues);
  }
  const scenario = readScenario(c, yaml.doc.contents, source);
  if (c.issues.length > 0 || !scenario) throw new ScenarioError(file, c.issues);
  return scenario;
}

function readScenario(c: YamlChecker, root: unknown, source: string): Scenario | undefined {
  const top = readStruct(
    c,
    root,
    '',
    {
      name: dnsLabel,
      description: str(),
      kubernetesVersion: kubeVersion,
      seed: int({ min: 0 }),
      prebindPods: bool,
      allowKubeletMinorSkip: bool,
      controlPlane: deferred,
      nodePools: deferred,
      workloads: deferred,
      timing: struct(TIMING_FIELDS),
      faults: (c2, n, p) => readFaults(c2, n, p),
      helmReleases: listOf(helmRelease),
      objects: listOf(rawObject),
    },
    ['name', 'kubernetesVersion'],
  );
  if (!top) return undefined;
  const v = top.values;
  const clusterVersion = (v.kubernetesVersion as string | undefined) ?? 'v0.0.0';
  const controlPlane = readControlPlane(c, top.nodes.controlPlane, clusterVersion);
  const nodePools =
    top.nodes.nodePools === undefined ? [] : readNodePools(c, top.nodes.nodePools, clusterVersion);
  const workloads = top.nodes.workloads === undefined ? [] : readWorkloads(c, top.nodes.workloads);
  const { spread, ...timingSeconds } = (v.timing ?? {}) as Record<string, number> & {
    spread?: { ratio: number; seed?: number };
  };
  const timing: Partial<SimTiming> = {};
  for (const [key, seconds] of Object.entries(timingSeconds)) {
    timing[key.replace(/Seconds$/, 'Ms') as Exclude<keyof SimTiming, 'spread'>] = Math.round(seconds * 1000);
  }
  if (spread) timing.spread = { ratio: spread.ratio, seed: spread.seed ?? 1 };
  return {
    name: (v.name as string | undefined) ?? '',
    description: (v.description as string | undefined) ?? '',
    kubernetesVersion: clusterVersion,
    controlPlane: controlPlane ?? defaultControlPlane(clusterVersion),
    nodePools,
    workloads,
    timing,
    faults: (v.faults as FaultsSpec | undefined) ?? emptyFaultsSpec(),
    helmReleases: (v.helmReleases as HelmReleaseSpec[] | undefined) ?? [],
    objects: (v.objects as KubeObject[] | undefined) ?? [],
    prebindPods: (v.prebindPods as boolean | undefined) ?? false,
    allowKubeletMinorSkip: (v.allowKubeletMinorSkip as boolean | undefined) ?? false,
    seed: (v.seed as number | undefined) ?? 1,
    source,
  };
}

function defaultControlPlane(version: string): ControlPlaneSpec {
  return {
    nodes: 3,
    capacity: { cpu: '4', memory: '16Gi', pods: '110' },
    kubeletVersion: version,
    osImage: DEFAULT_OS_IMAGE,
    containerRuntime: DEFAULT_RUNTIME,
    kernel: DEFAULT_KERNEL,
  };
}

function readControlPlane(c: YamlChecker, node: unknown, version: string): ControlPlaneSpec | undefined {
  if (node === undefined) return undefined;
  const read = readStruct(c, node, 'controlPlane', {
    // Note: 1 or 3 or 5 in practice; even counts are allowed because the sandbox does not run a quorum.
    nodes: int({ min: 1, max: 7 }),
    capacity,
    kubeletVersion: kubeVersion,
    ...imageFields,
  });
  if (!read) return undefined;
  const v = read.values;
  const base = defaultControlPlane(version);
  const kubelet = (v.kubeletVersion as string | undefined) ?? version;
  checkKubeletNotNewer(c, read.nodes.kubeletVersion, 'controlPlane.kubeletVersion', kubelet, version);
  return {
    nodes: (v.nodes as number | undefined) ?? base.nodes,
    capacity: withPods(v.capacity as Partial<Capacity> | undefined, base.capacity),
    kubeletVersion: kubelet,
    osImage: (v.osImage as string | undefined) ?? base.osImage,
    containerRuntime: (v.containerRuntime as string | undefined) ?? base.containerRuntime,
    kernel: (v.kernel as string | undefined) ?? base.kernel,
  };
}

function withPods(capacity: Partial<Capacity> | undefined, base: Capacity): Capacity {
  return {
    cpu: capacity?.cpu ?? base.cpu,
    memory: capacity?.memory ?? base.memory,
    pods: capacity?.pods ?? '110',
  };
}

function checkKubeletNotNewer(
  c: YamlChecker,
  node: unknown,
  p: string,
  kubelet: string,
  cluster: string,
): void {
  try {
    if (compareVersions(parseVersion(kubelet), parseVersion(cluster)) > 0)
      c.report(node, p, `kubelet ${kubelet} must not be newer than the control plane (${cluster})`);
  } catch {
    // A malformed version was reported where it was read.
  }
}

function readNodePools(c: YamlChecker, node: unknown, version: string): NodePoolSpec[] {
  const list = listOf(deferred)(c, node, 'nodePools') ?? [];
  const pools: NodePoolSpec[] = [];
  const seen = new Map<string, number>();
  list.forEach((item, i) => {
    const p = path('nodePools', i);
    const read = readStruct(
      c,
      item,
      p,
      {
        name: dnsLabel,
        count: int({ min: 0, max: 20_000 }),
        version: kubeVersion,
        capacity,
        labels,
        taints: listOf(taint),
        instanceType: str(),
        zones: listOf(labelValue),
        machineDeployment: str({
          pattern: /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
          expected: 'a MachineDeployment name, or NAMESPACE/NAME, like "workers-md-0"',
        }),
        ...imageFields,
      },
      ['name', 'count', 'capacity'],
    );
    if (!read) return;
    const v = read.values;
    const name = v.name as string | undefined;
    if (name !== undefined) {
      if (seen.has(name))
        c.report(
          read.nodes.name,
          path(p, 'name'),
          `duplicate pool name "${name}" (also nodePools[${seen.get(name)}])`,
        );
      seen.set(name, i);
    }
    const kubelet = (v.version as string | undefined) ?? version;
    checkKubeletNotNewer(c, read.nodes.version, path(p, 'version'), kubelet, version);
    const cap = withPods(v.capacity as Partial<Capacity> | undefined, {
      cpu: '4',
      memory: '16Gi',
      pods: '110',
    });
    const md = (v.machineDeployment as string | undefined)?.split('/');
    pools.push({
      ...(md
        ? {
            machineDeployment:
              md.length === 2 ? { namespace: md[0]!, name: md[1]! } : { namespace: 'default', name: md[0]! },
          }
        : {}),
      name: name ?? '',
      count: (v.count as number | undefined) ?? 0,
      version: kubelet,
      capacity: cap,
      labels: (v.labels as Record<string, string> | undefined) ?? {},
      taints: (v.taints as Taint[] | undefined) ?? [],
      zones: (v.zones as string[] | undefined) ?? [],
      instanceType:
        (v.instanceType as string | undefined) ?? `sandbox-${cap.cpu}c-${cap.memory.toLowerCase()}`,
      osImage: (v.osImage as string | undefined) ?? DEFAULT_OS_IMAGE,
      containerRuntime: (v.containerRuntime as string | undefined) ?? DEFAULT_RUNTIME,
      kernel: (v.kernel as string | undefined) ?? DEFAULT_KERNEL,
    });
  });
  return pools;
}

const pdb: Read<PdbSpec> = (c, node, p) => {
  const read = readStruct(c, node, p, {
    minAvailable: intOrPercent,
    maxUnavailable: intOrPercent,
    unhealthyPodEvictionPolicy: str({ oneOf: ['IfHealthyBudget', 'AlwaysAllow'] }),
  });
  if (!read) return undefined;
  const given = ['minAvailable', 'maxUnavailable'].filter((k) => k in read.nodes);
  if (given.length !== 1)
    c.report(
      node,
      p,
      `expected exactly one of minAvailable or maxUnavailable, got ${given.length === 0 ? 'neither' : 'both'}`,
    );
  return read.values as PdbSpec;
};

const traffic: Read<TrafficSpec> = (c, node, p) => {
  const v = struct(
    { rps: num({ min: 0 }), latencyMs: num({ min: 0 }), errorRatio: num({ min: 0, max: 1 }) },
    ['rps'],
  )(c, node, p);
  if (!v) return undefined;
  return {
    rps: (v.rps as number) ?? 0,
    latencyMs: (v.latencyMs as number) ?? 20,
    errorRatio: (v.errorRatio as number) ?? 0,
  };
};

function readWorkloads(c: YamlChecker, node: unknown): WorkloadSpec[] {
  const list = listOf(deferred)(c, node, 'workloads') ?? [];
  const out: WorkloadSpec[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const p = path('workloads', i);
    const read = readStruct(
      c,
      item,
      p,
      {
        name: dnsLabel,
        namespace: dnsLabel,
        kind: str({ oneOf: WORKLOAD_KINDS }),
        replicas: int({ min: 0, max: 100_000 }),
        copies: int({ min: 1, max: 10_000 }),
        image: str(),
        requests: struct({ cpu: quantity, memory: quantity }),
        nodeSelector: labels,
        tolerations: listOf(toleration),
        pdb,
        traffic,
        localStorage: bool,
        storageClass: dnsLabel,
        terminationGracePeriodSeconds: int({ min: 0 }),
        unmanaged: bool,
        labels,
      },
      ['name', 'namespace'],
    );
    if (!read) return;
    const v = read.values;
    const unmanaged = v.unmanaged === true;
    if (unmanaged && 'kind' in read.nodes)
      c.report(read.nodes.kind, path(p, 'kind'), 'unmanaged workloads are bare pods: leave out "kind"');
    if (!unmanaged && !('kind' in read.nodes))
      c.report(item, path(p, 'kind'), 'missing required field "kind"');
    const kind = unmanaged ? 'Pod' : ((v.kind as WorkloadSpec['kind'] | undefined) ?? 'Deployment');
    if (kind === 'DaemonSet' && 'replicas' in read.nodes)
      c.report(
        read.nodes.replicas,
        path(p, 'replicas'),
        'a DaemonSet runs one pod per eligible node: leave out "replicas"',
      );
    const requests = (v.requests ?? {}) as { cpu?: string; memory?: string };
    const copies = (v.copies as number | undefined) ?? 1;
    const baseName = (v.name as string | undefined) ?? '';
    for (let copy = 1; copy <= copies; copy++) {
      const name = copies === 1 ? baseName : `${baseName}-${copy}`;
      const key = `${v.namespace}/${name}`;
      if (seen.has(key)) {
        c.report(read.nodes.name, path(p, 'name'), `duplicate workload "${key}"`);
        break;
      }
      seen.add(key);
      out.push({
        name,
        namespace: (v.namespace as string | undefined) ?? 'default',
        kind,
        replicas: (v.replicas as number | undefined) ?? 1,
        image: (v.image as string | undefined) ?? DEFAULT_IMAGE,
        requests: { cpu: requests.cpu ?? '100m', memory: requests.memory ?? '128Mi' },
        nodeSelector: v.nodeSelector as Record<string, string> | undefined,
        tolerations: v.tolerations as Toleration[] | undefined,
        pdb: v.pdb as PdbSpec | undefined,
        traffic: v.traffic as TrafficSpec | undefined,
        localStorage: v.localStorage === true,
        storageClass: v.storageClass as string | undefined,
        terminationGracePeriodSeconds: v.terminationGracePeriodSeconds as number | undefined,
        labels: (v.labels as Record<string, string> | undefined) ?? {},
      });
    }
  });
  return out;
}

const helmRelease = (c: YamlChecker, node: unknown, p: string): HelmReleaseSpec | undefined => {
  const v = struct(
    {
      name: dnsLabel,
      namespace: dnsLabel,
      chart: str(),
      version: str({
        pattern: /^v?\d+\.\d+\.\d+([-+].*)?$/,
        expected: 'a chart version like "1.2.3"',
        asWritten: true,
      }),
      appVersion: str({ asWritten: true }),
      revision: int({ min: 1 }),
      manifest: str(),
    },
    ['name', 'namespace', 'chart', 'version', 'manifest'],
  )(c, node, p);
  if (!v) return undefined;
  return {
    revision: 1,
    ...(v as Omit<HelmReleaseSpec, 'revision'>),
    ...(v.revision ? { revision: v.revision as number } : {}),
  };
};

const rawObject = (c: YamlChecker, node: unknown, p: string): KubeObject | undefined => {
  if (!isMap(node))
    return c.expected(node, p, 'a Kubernetes object (a mapping with apiVersion, kind, metadata)');
  const obj = node.toJSON() as KubeObject;
  const meta = obj.metadata as { name?: unknown } | undefined;
  if (typeof obj.apiVersion !== 'string')
    c.report(node, path(p, 'apiVersion'), 'missing required field "apiVersion"');
  if (typeof obj.kind !== 'string') c.report(node, path(p, 'kind'), 'missing required field "kind"');
  if (!meta || typeof meta.name !== 'string')
    c.report(node, path(p, 'metadata.name'), 'missing required field "metadata.name"');
  if (typeof obj.apiVersion === 'string' && typeof obj.kind === 'string') {
    const info = RESOURCES.find((r) => apiVersionOf(r) === obj.apiVersion && r.kind === obj.kind);
    if (!info)
      c.report(
        node,
        path(p, 'kind'),
        `expected a kind the sandbox serves, got ${obj.apiVersion} ${obj.kind}`,
      );
    else if (info.namespaced !== (typeof (meta as { namespace?: unknown })?.namespace === 'string'))
      c.report(
        node,
        path(p, 'metadata.namespace'),
        info.namespaced
          ? `a ${obj.kind} needs metadata.namespace`
          : `a ${obj.kind} is cluster-scoped: leave out metadata.namespace`,
      );
  }
  return obj;
};
