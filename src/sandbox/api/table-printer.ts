import { formatLabelSelector } from '../../core/index.ts';
import type { Json, KubeObject } from '../store/types.ts';
import { ageOf, humanDuration } from './human-duration.ts';

/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the columns real kubectl
 * shows for each resource, as k/k `pkg/printers/internalversion/printers.go` computes them.
 */
export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number;

interface Printer {
  columns: Array<[name: string, type: string, priority?: number]>;
  cells(obj: KubeObject, now: number): Cell[];
}

const none = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));

function containersOf(template: Json): { names: string; images: string } {
  const containers: Json[] = template?.spec?.containers ?? [];
  return {
    names: containers.map((c) => c.name).join(','),
    images: containers.map((c) => c.image).join(','),
  };
}

function selectorText(selector: Json): string {
  if (!selector) return '<none>';
  try {
    return formatLabelSelector(selector) || '<none>';
  } catch {
    return '<invalid>';
  }
}

function mapText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

export function nodeStatusText(node: KubeObject): string {
  const ready = (node.status?.conditions as Json[] | undefined)?.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (key === 'kubernetes.io/role' && value) roles.add(value);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  return none((node.status?.addresses as Json[] | undefined)?.find((a) => a.type === type)?.address);
}

/** The STATUS column of `kubectl get pods` (printPod). */
export function podStatusText(pod: KubeObject): string {
  const status: Json = pod.status ?? {};
  let reason: string = status.reason || status.phase || '';
  let initializing = false;
  const initStatuses: Json[] = status.initContainerStatuses ?? [];
  const initCount = (pod.spec?.initContainers ?? []).length;
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (terminated) {
      reason = terminated.reason
        ? `Init:${terminated.reason}`
        : terminated.signal
          ? `Init:Signal:${terminated.signal}`
          : `Init:ExitCode:${terminated.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${initCount}`;
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const statuses: Json[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      const waiting = c.state?.waiting;
      const terminated = c.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated)
        reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (status.conditions as Json[] | undefined)?.some(
        (c) => c.type === 'Ready' && c.status === 'True',
      );
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podCells(pod: KubeObject, now: number): Cell[] {
  const statuses: Json[] = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  const total = (pod.spec?.containers ?? []).length;
  const ready = (pod.status?.containerStatuses ?? []).filter((c: Json) => c.ready).length;
  let restarts = 0;
  let lastRestart = 0;
  for (const c of statuses) {
    restarts += c.restartCount ?? 0;
    const finished = c.lastState?.terminated?.finishedAt;
    if (finished) lastRestart = Math.max(lastRestart, Date.parse(finished) || 0);
  }
  const restartText = lastRestart
    ? `${restarts} (${humanDuration(now - lastRestart)} ago)`
    : String(restarts);
  const gates: Json[] = pod.spec?.readinessGates ?? [];
  const gatesText = gates.length
    ? `${gates.filter((g) => (pod.status?.conditions ?? []).some((c: Json) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata.name ?? '',
    `${ready}/${total}`,
    podStatusText(pod),
    restartText,
    ageOf(pod.metadata.creationTimestamp, now),
    none(pod.status?.podIP),
    none(pod.spec?.nodeName),
    none(pod.status?.nominatedNodeName),
    gatesText,
  ];
}

function jobStatus(job: KubeObject): string {
  const conditions: Json[] = job.status?.conditions ?? [];
  const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function jobCompletions(job: KubeObject): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions != null) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(job: KubeObject, now: number): string {
  const start = Date.parse(job.status?.startTime ?? '');
  if (Number.isNaN(start)) return '';
  const end = Date.parse(job.status?.completionTime ?? '');
  return humanDuration((Number.isNaN(end) ? now : end) - start);
}

function eventLastSeen(ev: Json, now: number): string {
  const last = ev.lastTimestamp ?? ev.eventTime ?? ev.metadata?.creationTimestamp;
  const first = ev.firstTimestamp ?? ev.eventTime ?? ev.metadata?.creationTimestamp;
  const count = ev.count ?? ev.series?.count ?? 1;
  return count > 1 ? `${ageOf(last, now)} (x${count} over ${ageOf(first, now)})` : ageOf(last, now);
}

function servicePorts(svc: KubeObject): string {
  const ports: Json[] = svc.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

const PRINTERS: Record<string, Printer> = {
  nodes: {
    columns: [
      ['Name', 'string'],
      ['Status', 'string'],
      ['Roles', 'string'],
      ['Age', 'string'],
      ['Version', 'string'],
      ['Internal-IP', 'string', 1],
      ['External-IP', 'string', 1],
      ['OS-Image', 'string', 1],
      ['Kernel-Version', 'string', 1],
      ['Container-Runtime', 'string', 1],
    ],
    cells: (n, now) => {
      const info: Json = n.status?.nodeInfo ?? {};
      return [
        n.metadata.name ?? '',
        nodeStatusText(n),
        nodeRoles(n),
        ageOf(n.metadata.creationTimestamp, now),
        info.kubeletVersion ?? '',
        nodeAddress(n, 'InternalIP'),
        nodeAddress(n, 'ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ];
    },
  },
  pods: {
    columns: [
      ['Name', 'string'],
      ['Ready', 'string'],
      ['Status', 'string'],
      ['Restarts', 'string'],
      ['Age', 'string'],
      ['IP', 'string', 1],
      ['Node', 'string', 1],
      ['Nominated Node', 'string', 1],
      ['Readiness Gates', 'string', 1],
    ],
    cells: podCells,
  },
  'apps/deployments': {
    columns: [
      ['Name', 'string'],
      ['Ready', 'string'],
      ['Up-to-date', 'integer'],
      ['Available', 'integer'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (d, now) => {
      const c = containersOf(d.spec?.template);
      return [
        d.metadata.name ?? '',
        `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
        d.status?.updatedReplicas ?? 0,
        d.status?.availableReplicas ?? 0,
        ageOf(d.metadata.creationTimestamp, now),
        c.names,
        c.images,
        selectorText(d.spec?.selector),
      ];
    },
  },
  'apps/replicasets': {
    columns: [
      ['Name', 'string'],
      ['Desired', 'integer'],
      ['Current', 'integer'],
      ['Ready', 'integer'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (rs, now) => {
      const c = containersOf(rs.spec?.template);
      return [
        rs.metadata.name ?? '',
        rs.spec?.replicas ?? 0,
        rs.status?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        ageOf(rs.metadata.creationTimestamp, now),
        c.names,
        c.images,
        selectorText(rs.spec?.selector),
      ];
    },
  },
  'apps/statefulsets': {
    columns: [
      ['Name', 'string'],
      ['Ready', 'string'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
    ],
    cells: (s, now) => {
      const c = containersOf(s.spec?.template);
      return [
        s.metadata.name ?? '',
        `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`,
        ageOf(s.metadata.creationTimestamp, now),
        c.names,
        c.images,
      ];
    },
  },
  'apps/daemonsets': {
    columns: [
      ['Name', 'string'],
      ['Desired', 'integer'],
      ['Current', 'integer'],
      ['Ready', 'integer'],
      ['Up-to-date', 'integer'],
      ['Available', 'integer'],
      ['Node Selector', 'string'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (ds, now) => {
      const c = containersOf(ds.spec?.template);
      const s: Json = ds.status ?? {};
      return [
        ds.metadata.name ?? '',
        s.desiredNumberScheduled ?? 0,
        s.currentNumberScheduled ?? 0,
        s.numberReady ?? 0,
        s.updatedNumberScheduled ?? 0,
        s.numberAvailable ?? 0,
        mapText(ds.spec?.template?.spec?.nodeSelector),
        ageOf(ds.metadata.creationTimestamp, now),
        c.names,
        c.images,
        selectorText(ds.spec?.selector),
      ];
    },
  },
  'batch/jobs': {
    columns: [
      ['Name', 'string'],
      ['Status', 'string'],
      ['Completions', 'string'],
      ['Duration', 'string'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (j, now) => {
      const c = containersOf(j.spec?.template);
      return [
        j.metadata.name ?? '',
        jobStatus(j),
        jobCompletions(j),
        jobDuration(j, now),
        ageOf(j.metadata.creationTimestamp, now),
        c.names,
        c.images,
        selectorText(j.spec?.selector),
      ];
    },
  },
  'policy/poddisruptionbudgets': {
    columns: [
      ['Name', 'string'],
      ['Min Available', 'string'],
      ['Max Unavailable', 'string'],
      ['Allowed Disruptions', 'integer'],
      ['Age', 'string'],
    ],
    cells: (p, now) => [
      p.metadata.name ?? '',
      p.spec?.minAvailable != null ? String(p.spec.minAvailable) : 'N/A',
      p.spec?.maxUnavailable != null ? String(p.spec.maxUnavailable) : 'N/A',
      p.status?.disruptionsAllowed ?? 0,
      ageOf(p.metadata.creationTimestamp, now),
    ],
  },
  namespaces: {
    columns: [
      ['Name', 'string'],
      ['Status', 'string'],
      ['Age', 'string'],
    ],
    cells: (ns, now) => [
      ns.metadata.name ?? '',
      ns.status?.phase ?? '',
      ageOf(ns.metadata.creationTimestamp, now),
    ],
  },
  events: {
    columns: [
      ['Last Seen', 'string'],
      ['Type', 'string'],
      ['Reason', 'string'],
      ['Object', 'string'],
      ['Message', 'string'],
      ['Subobject', 'string', 1],
      ['Source', 'string', 1],
      ['First Seen', 'string', 1],
      ['Count', 'string', 1],
      ['Name', 'string', 1],
    ],
    cells: (e: Json, now) => {
      const involved: Json = e.involvedObject ?? {};
      const source = [e.source?.component, e.source?.host].filter(Boolean).join(', ');
      return [
        eventLastSeen(e, now),
        e.type ?? '',
        e.reason ?? '',
        `${String(involved.kind ?? '').toLowerCase()}/${involved.name ?? ''}`,
        String(e.message ?? '').trim(),
        involved.fieldPath ?? '',
        source,
        ageOf(e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp, now),
        String(e.count ?? 1),
        e.metadata.name ?? '',
      ];
    },
  },
  'coordination.k8s.io/leases': {
    columns: [
      ['Name', 'string'],
      ['Holder', 'string'],
      ['Age', 'string'],
    ],
    cells: (l, now) => [
      l.metadata.name ?? '',
      l.spec?.holderIdentity ?? '',
      ageOf(l.metadata.creationTimestamp, now),
    ],
  },
  services: {
    columns: [
      ['Name', 'string'],
      ['Type', 'string'],
      ['Cluster-IP', 'string'],
      ['External-IP', 'string'],
      ['Port(s)', 'string'],
      ['Age', 'string'],
      ['Selector', 'string', 1],
    ],
    cells: (s, now) => [
      s.metadata.name ?? '',
      s.spec?.type ?? 'ClusterIP',
      none(s.spec?.clusterIP),
      none((s.spec?.externalIPs ?? []).join(',')),
      servicePorts(s),
      ageOf(s.metadata.creationTimestamp, now),
      mapText(s.spec?.selector),
    ],
  },
  configmaps: {
    columns: [
      ['Name', 'string'],
      ['Data', 'integer'],
      ['Age', 'string'],
    ],
    cells: (c: Json, now) => [
      c.metadata.name ?? '',
      Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length,
      ageOf(c.metadata.creationTimestamp, now),
    ],
  },
  secrets: {
    columns: [
      ['Name', 'string'],
      ['Type', 'string'],
      ['Data', 'integer'],
      ['Age', 'string'],
    ],
    cells: (s: Json, now) => [
      s.metadata.name ?? '',
      s.type ?? 'Opaque',
      Object.keys(s.data ?? {}).length,
      ageOf(s.metadata.creationTimestamp, now),
    ],
  },
};

/** Cluster API's printer columns (its CRDs' additionalPrinterColumns), so `kubectl get md,ms,ma` reads as on a real cluster. */
const CAPI_PRINTERS: Record<string, Printer> = {
  'cluster.x-k8s.io/machinedeployments': {
    columns: [
      ['Name', 'string'],
      ['Cluster', 'string'],
      ['Desired', 'integer'],
      ['Replicas', 'integer'],
      ['Ready', 'integer'],
      ['Updated', 'integer'],
      ['Unavailable', 'integer'],
      ['Phase', 'string'],
      ['Age', 'string'],
      ['Version', 'string'],
    ],
    cells: (md, now) => [
      md.metadata.name ?? '',
      md.spec?.clusterName ?? '',
      md.spec?.replicas ?? 0,
      md.status?.replicas ?? 0,
      md.status?.readyReplicas ?? 0,
      md.status?.updatedReplicas ?? 0,
      md.status?.unavailableReplicas ?? 0,
      md.status?.phase ?? '',
      ageOf(md.metadata.creationTimestamp, now),
      md.spec?.template?.spec?.version ?? '',
    ],
  },
  'cluster.x-k8s.io/machinesets': {
    columns: [
      ['Name', 'string'],
      ['Cluster', 'string'],
      ['Desired', 'integer'],
      ['Replicas', 'integer'],
      ['Ready', 'integer'],
      ['Available', 'integer'],
      ['Age', 'string'],
      ['Version', 'string'],
    ],
    cells: (ms, now) => [
      ms.metadata.name ?? '',
      ms.spec?.clusterName ?? '',
      ms.spec?.replicas ?? 0,
      ms.status?.replicas ?? 0,
      ms.status?.readyReplicas ?? 0,
      ms.status?.availableReplicas ?? 0,
      ageOf(ms.metadata.creationTimestamp, now),
      ms.spec?.template?.spec?.version ?? '',
    ],
  },
  'cluster.x-k8s.io/machines': {
    columns: [
      ['Name', 'string'],
      ['Cluster', 'string'],
      ['NodeName', 'string'],
      ['ProviderID', 'string'],
      ['Phase', 'string'],
      ['Age', 'string'],
      ['Version', 'string'],
    ],
    cells: (m, now) => [
      m.metadata.name ?? '',
      m.spec?.clusterName ?? '',
      m.status?.nodeRef?.name ?? '',
      m.spec?.providerID ?? '',
      m.status?.phase ?? '',
      ageOf(m.metadata.creationTimestamp, now),
      m.spec?.version ?? '',
    ],
  },
};

const FALLBACK: Printer = {
  columns: [
    ['Name', 'string'],
    ['Age', 'string'],
  ],
  cells: (o, now) => [o.metadata.name ?? '', ageOf(o.metadata.creationTimestamp, now)],
};

function printerFor(resource: string): Printer {
  return PRINTERS[resource] ?? CAPI_PRINTERS[resource] ?? FALLBACK;
}

export function columnDefinitions(resource: string): ColumnDefinition[] {
  return printerFor(resource).columns.map(([name, type, priority]) => ({
    name,
    type,
    format: name === 'Name' ? 'name' : '',
    description: '',
    priority: priority ?? 0,
  }));
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** One table row; `object` is what `includeObject` asks for (kubectl uses the default, Metadata). */
export function tableRow(resource: string, obj: KubeObject, now: number, include: IncludeObject): unknown {
  const cells = printerFor(resource).cells(obj, now);
  if (include === 'None') return { cells };
  if (include === 'Object') return { cells, object: obj };
  return {
    cells,
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata },
  };
}

/** Whether an Accept header asks for server-side printing. */
export function wantsTable(accept: string | undefined): boolean {
  return Boolean(accept && /as=Table/.test(accept));
}

export function parseIncludeObject(value: string | null): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}
