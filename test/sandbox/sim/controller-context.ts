import { Registry } from 'prom-client';
import { VirtualClock } from '../../../src/core/clock.ts';
import { R } from '../../../src/sandbox/api/resources.ts';
import { DEFAULT_TIMING, emptyFaults, type SandboxContext } from '../../../src/sandbox/context.ts';
import { rfc3339 } from '../../../src/sandbox/store/deletion.ts';
import { ObjectStore } from '../../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';

/**
 * A SandboxContext built by hand for controller tests: an ObjectStore on a VirtualClock, no API server and
 * no kubelets. `PodSimulator` stands in for the kubelets and scheduler.
 */
export function controllerContext(): SandboxContext & { clock: VirtualClock } {
  const clock = new VirtualClock();
  const store = new ObjectStore(clock);
  let seed = 42;
  return {
    clock,
    store,
    timing: DEFAULT_TIMING,
    faults: emptyFaults(),
    metrics: new Registry(),
    violations: [],
    random() {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    },
    recordEvent(involved, type, reason, message, source) {
      store.create(R.events, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          generateName: `${involved.metadata.name}.`,
          namespace: involved.metadata.namespace ?? 'default',
        },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          name: involved.metadata.name,
          namespace: involved.metadata.namespace,
          uid: involved.metadata.uid,
        },
        type,
        reason,
        message,
        source: { component: source },
        firstTimestamp: rfc3339(clock.now()),
        lastTimestamp: rfc3339(clock.now()),
        count: 1,
      });
    },
  };
}

/** Lets queued reconciles run (and the ones they cause), without moving time. */
export async function settle(ctx: { clock: VirtualClock }): Promise<void> {
  await ctx.clock.advance(0);
}

export function eventsFor(ctx: SandboxContext, name: string): KubeObject[] {
  return ctx.store.list(R.events).filter((e) => (e.involvedObject as { name?: string }).name === name);
}

/** The kubelets and scheduler, reduced to what controller tests need. */
export class PodSimulator {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly defaultNode = 'node-1',
  ) {}

  /** Binds unbound pods, and makes every live pod Running and Ready (those `filter` accepts). */
  makeReady(filter: (pod: KubeObject) => boolean = () => true): void {
    for (const pod of this.ctx.store.list(R.pods)) {
      if (pod.metadata.deletionTimestamp || !filter(pod)) continue;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      this.setReady(pod, true);
    }
  }

  setReady(pod: KubeObject, ready: boolean): void {
    const now = rfc3339(this.ctx.clock.now());
    this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) => {
      const wasReady = draft.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      );
      if (wasReady === ready && draft.spec.nodeName) return false;
      draft.spec.nodeName ??= this.defaultNode;
      draft.status = {
        ...draft.status,
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
      };
    });
  }

  setPhase(pod: KubeObject, phase: 'Succeeded' | 'Failed'): void {
    this.ctx.store.mutate(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', (draft) => {
      draft.spec.nodeName ??= this.defaultNode;
      draft.status = { ...draft.status, phase, conditions: [{ type: 'Ready', status: 'False' }] };
    });
  }

  /** What kubelets do once grace periods end: removes every terminating pod. */
  finishTerminating(): void {
    for (const pod of this.ctx.store.list(R.pods)) {
      if (pod.metadata.deletionTimestamp)
        this.ctx.store.remove(R.pods, pod.metadata.namespace, pod.metadata.name ?? '');
    }
  }
}

export function pods(ctx: SandboxContext, namespace = 'default'): KubeObject[] {
  return ctx.store.list(R.pods, namespace);
}

export function livePods(ctx: SandboxContext, namespace = 'default'): KubeObject[] {
  return pods(ctx, namespace).filter((p) => !p.metadata.deletionTimestamp);
}
