import { Registry } from 'prom-client';
import { VirtualClock } from '../../../src/core/clock.ts';
import {
  DEFAULT_TIMING,
  emptyFaults,
  type SandboxContext,
  type SimTiming,
} from '../../../src/sandbox/context.ts';
import { createEventRecorder } from '../../../src/sandbox/sim/event-recorder.ts';
import { ObjectStore } from '../../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';

export interface TestContext extends SandboxContext {
  clock: VirtualClock;
}

/** A sandbox context without the API server: store, virtual clock, seeded randomness, events in the store. */
export function testContext(timing: Partial<SimTiming> = {}): TestContext {
  const clock = new VirtualClock();
  const store = new ObjectStore(clock);
  let seed = 42;
  return {
    clock,
    store,
    timing: { ...DEFAULT_TIMING, ...timing },
    faults: emptyFaults(),
    metrics: new Registry(),
    violations: [],
    random() {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    recordEvent: createEventRecorder(store, clock),
  };
}

export function makeNode(
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: unknown[];
    unschedulable?: boolean;
    kubeletVersion?: string;
  } = {},
): KubeObject {
  const resources = { cpu: opts.cpu ?? '4', memory: opts.memory ?? '16Gi', pods: opts.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: {
      ...(opts.taints ? { taints: opts.taints } : {}),
      ...(opts.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      capacity: resources,
      allocatable: resources,
      nodeInfo: {
        kubeletVersion: opts.kubeletVersion ?? 'v1.29.3',
        kubeProxyVersion: opts.kubeletVersion ?? 'v1.29.3',
      },
    },
  };
}

export function makePod(
  name: string,
  opts: {
    namespace?: string;
    nodeName?: string;
    cpu?: string;
    memory?: string;
    labels?: Record<string, string>;
    spec?: Record<string, unknown>;
    ownerReferences?: KubeObject['metadata']['ownerReferences'];
    annotations?: Record<string, string>;
  } = {},
): KubeObject {
  const requests: Record<string, string> = {};
  if (opts.cpu) requests.cpu = opts.cpu;
  if (opts.memory) requests.memory = opts.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? 'default',
      labels: opts.labels ?? { app: name },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.ownerReferences ? { ownerReferences: opts.ownerReferences } : {}),
    },
    spec: {
      ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
      containers: [{ name: 'app', image: 'nginx:1.25', resources: { requests } }],
      terminationGracePeriodSeconds: 30,
      ...opts.spec,
    },
    status: { phase: 'Pending' },
  };
}

export function condition(obj: KubeObject | undefined, type: string): Record<string, string> | undefined {
  return (obj?.status?.conditions as Array<Record<string, string>> | undefined)?.find((c) => c.type === type);
}
