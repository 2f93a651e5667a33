import { parseLabelSelector, SelectorParseError } from '../../core/index.ts';
import type { FaultSet } from '../context.ts';
import type { FaultsSpec } from './scenario-types.ts';
import { int, kubeVersion, listOf, mapOf, num, type Read, readStruct, str, struct } from './yaml-checker.ts';

/**
 * The `faults` section of a scenario and the body of `/sandbox/v1/faults`: the same field names in both,
 * converted to and from the `FaultSet` the simulation reads.
 */
export function emptyFaultsSpec(): FaultsSpec {
  return {
    nodesNeverReady: [],
    etcdUnhealthy: [],
    upgradeFailures: {},
    api: { errorRate: 0, code: 500, latencyMs: 0 },
    ignoreSigterm: [],
    versionRegression: [],
    etcdSlowDisk: {},
    csiAttachFailures: [],
    nodeCreateFailures: {},
    nodesNeverJoin: {},
    poolQuota: {},
  };
}

const selector: Read<string> = (c, node, p) => {
  const text = str()(c, node, p);
  if (text === undefined) return undefined;
  try {
    parseLabelSelector(text);
    return text;
  } catch (err) {
    if (!(err instanceof SelectorParseError)) throw err;
    return c.expected(node, p, `a label selector like "app=web" (${err.message})`);
  }
};

const apiFaults = struct({
  errorRate: num({ min: 0, max: 1 }),
  code: (c, node, p) => {
    const v = int()(c, node, p);
    if (v === undefined) return undefined;
    return v === 500 || v === 429 || v === 503 ? v : c.expected(node, p, 'one of 500, 429, 503');
  },
  latencyMs: num({ min: 0 }),
  verbs: listOf(
    str({ oneOf: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] }),
  ),
  resources: listOf(str()),
});

const regression = struct(
  { kubeletVersion: kubeVersion, errorRatio: num({ min: 0, max: 1 }), extraLatencyMs: num({ min: 0 }) },
  ['kubeletVersion'],
);

const FAULT_FIELDS = {
  nodesNeverReady: listOf(str()),
  etcdUnhealthy: listOf(str()),
  upgradeFailures: mapOf(int({ min: 0 })),
  api: apiFaults,
  ignoreSigterm: listOf(selector),
  versionRegression: listOf(regression),
  etcdSlowDisk: mapOf(num({ min: 0 })),
  csiAttachFailures: listOf(str()),
  nodeCreateFailures: mapOf(int({ min: 0 })),
  nodesNeverJoin: mapOf(int({ min: 0 })),
  poolQuota: mapOf(int({ min: 0 })),
};

/**
 * Reads a faults mapping. Fields left out keep their value in `base` (so PATCH can change one fault);
 * PUT and scenarios pass an empty spec as the base.
 */
export function readFaults(
  c: Parameters<Read<unknown>>[0],
  node: unknown,
  p: string,
  base: FaultsSpec = emptyFaultsSpec(),
): FaultsSpec | undefined {
  const read = readStruct(c, node, p, FAULT_FIELDS);
  if (!read) return undefined;
  const v = read.values as Partial<{
    nodesNeverReady: string[];
    etcdUnhealthy: string[];
    upgradeFailures: Record<string, number>;
    api: Partial<FaultsSpec['api']>;
    ignoreSigterm: string[];
    versionRegression: Array<Partial<FaultsSpec['versionRegression'][number]>>;
    etcdSlowDisk: Record<string, number>;
    csiAttachFailures: string[];
    nodeCreateFailures: Record<string, number>;
    nodesNeverJoin: Record<string, number>;
    poolQuota: Record<string, number>;
  }>;
  return {
    nodesNeverReady: v.nodesNeverReady ?? base.nodesNeverReady,
    etcdUnhealthy: v.etcdUnhealthy ?? base.etcdUnhealthy,
    upgradeFailures: v.upgradeFailures ?? base.upgradeFailures,
    api: v.api ? { ...base.api, ...v.api } : base.api,
    ignoreSigterm: v.ignoreSigterm ?? base.ignoreSigterm,
    versionRegression:
      v.versionRegression?.map((r) => ({
        kubeletVersion: r.kubeletVersion ?? '',
        errorRatio: r.errorRatio ?? 0,
        extraLatencyMs: r.extraLatencyMs ?? 0,
      })) ?? base.versionRegression,
    etcdSlowDisk: v.etcdSlowDisk ?? base.etcdSlowDisk,
    csiAttachFailures: v.csiAttachFailures ?? base.csiAttachFailures,
    nodeCreateFailures: v.nodeCreateFailures ?? base.nodeCreateFailures,
    nodesNeverJoin: v.nodesNeverJoin ?? base.nodesNeverJoin,
    poolQuota: v.poolQuota ?? base.poolQuota,
  };
}

export function faultSetFromSpec(spec: FaultsSpec): FaultSet {
  return {
    nodesNeverReadyAfterUpgrade: new Set(spec.nodesNeverReady),
    upgradeFailures: new Map(Object.entries(spec.upgradeFailures)),
    api: {
      errorRate: spec.api.errorRate,
      errorCode: spec.api.code,
      latencyMs: spec.api.latencyMs,
      ...(spec.api.verbs ? { verbs: [...spec.api.verbs] } : {}),
      ...(spec.api.resources ? { resources: [...spec.api.resources] } : {}),
    },
    ignoreSigtermSelectors: [...spec.ignoreSigterm],
    versionRegressions: spec.versionRegression.map((r) => ({ ...r })),
    etcdUnhealthy: new Set(spec.etcdUnhealthy),
    etcdSlowDisk: new Map(Object.entries(spec.etcdSlowDisk)),
    csiAttachFailures: new Set(spec.csiAttachFailures),
    nodeCreateFailures: new Map(Object.entries(spec.nodeCreateFailures)),
    nodesNeverJoin: new Map(Object.entries(spec.nodesNeverJoin)),
    poolQuota: new Map(Object.entries(spec.poolQuota)),
  };
}

export function faultSpecOf(faults: FaultSet): FaultsSpec {
  return {
    nodesNeverReady: [...faults.nodesNeverReadyAfterUpgrade].sort(),
    etcdUnhealthy: [...faults.etcdUnhealthy].sort(),
    upgradeFailures: Object.fromEntries(faults.upgradeFailures),
    api: {
      errorRate: faults.api.errorRate,
      code: faults.api.errorCode,
      latencyMs: faults.api.latencyMs,
      ...(faults.api.verbs ? { verbs: [...faults.api.verbs] } : {}),
      ...(faults.api.resources ? { resources: [...faults.api.resources] } : {}),
    },
    ignoreSigterm: [...faults.ignoreSigtermSelectors],
    versionRegression: faults.versionRegressions.map((r) => ({ ...r })),
    etcdSlowDisk: Object.fromEntries(faults.etcdSlowDisk),
    csiAttachFailures: [...faults.csiAttachFailures].sort(),
    nodeCreateFailures: Object.fromEntries(faults.nodeCreateFailures),
    nodesNeverJoin: Object.fromEntries(faults.nodesNeverJoin),
    poolQuota: Object.fromEntries(faults.poolQuota),
  };
}

/**
 * Replaces the contents of `target` with `source`, keeping the same objects: actors hold `ctx.faults` and
 * its collections by reference.
 */
export function applyFaults(target: FaultSet, source: FaultSet): void {
  target.nodesNeverReadyAfterUpgrade.clear();
  for (const n of source.nodesNeverReadyAfterUpgrade) target.nodesNeverReadyAfterUpgrade.add(n);
  target.upgradeFailures.clear();
  for (const [k, v] of source.upgradeFailures) target.upgradeFailures.set(k, v);
  target.api = source.api;
  target.ignoreSigtermSelectors = source.ignoreSigtermSelectors;
  target.versionRegressions = source.versionRegressions;
  target.etcdUnhealthy.clear();
  for (const n of source.etcdUnhealthy) target.etcdUnhealthy.add(n);
  target.etcdSlowDisk.clear();
  for (const [k, v] of source.etcdSlowDisk) target.etcdSlowDisk.set(k, v);
  target.csiAttachFailures.clear();
  for (const c of source.csiAttachFailures) target.csiAttachFailures.add(c);
  for (const key of ['nodeCreateFailures', 'nodesNeverJoin', 'poolQuota'] as const) {
    target[key].clear();
    for (const [k, v] of source[key]) target[key].set(k, v);
  }
}
