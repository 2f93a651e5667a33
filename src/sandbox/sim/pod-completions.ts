/**
 * How a run-to-completion pod (a Job's, or one with restartPolicy Never or OnFailure) ends once running:
 * a registered behaviour decides (the node-upgrade Job registers one, see node-upgrade.ts), or else it
 * exits 0 after its `sandbox.midflight.dev/run-seconds` annotation (5 s by default).
 */
import type { Timer } from '../../core/index.ts';
import type { SandboxContext } from '../context.ts';
import type { KubeObject } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';
import { KUBELET_ACTOR } from './sim-kubelet.ts';

export const RUN_SECONDS_ANNOTATION = 'sandbox.midflight.dev/run-seconds';
const DEFAULT_RUN_SECONDS = 5;

/** What a run-to-completion pod's containers do; the result is how they exit. */
export interface PodBehaviour {
  run(pod: KubeObject): Promise<{ exitCode: number; message?: string }>;
}

export type PodBehaviourFactory = (pod: KubeObject) => PodBehaviour | undefined;

/** Called when the pod's containers exit (uid: the pod's, as it was when it started). */
export type CompletePod = (key: string, uid: string | undefined, exitCode: number, message?: string) => void;

/** Job pods and pods that are not restarted when they exit run to completion. */
export function runsToCompletion(pod: KubeObject): boolean {
  if (pod.metadata.ownerReferences?.some((ref) => ref.kind === 'Job')) return true;
  const policy = pod.spec?.restartPolicy;
  return policy === 'Never' || policy === 'OnFailure';
}

export class PodCompletions {
  private readonly behaviours: PodBehaviourFactory[] = [];

  constructor(
    private readonly ctx: SandboxContext,
    private readonly complete: CompletePod,
  ) {}

  /** Registers a hook deciding how run-to-completion pods end; the first one returning a behaviour wins. */
  add(fn: PodBehaviourFactory): void {
    this.behaviours.push(fn);
  }

  /** The pod (under `key`) is running: plans its end; the handle's timer, when there is one, cancels it. */
  start(key: string, pod: KubeObject): { timer?: Timer } {
    const behaviour = this.behaviourFor(pod);
    const uid = pod.metadata.uid;
    if (behaviour) {
      // Note: run() starts after the current store notification has reached every listener.
      void Promise.resolve()
        .then(() => behaviour.run(pod))
        .then(
          (result) =>
            contain(this.ctx, KUBELET_ACTOR, () => this.complete(key, uid, result.exitCode, result.message)),
          (error: unknown) =>
            contain(this.ctx, KUBELET_ACTOR, () =>
              this.complete(key, uid, 1, error instanceof Error ? error.message : String(error)),
            ),
        );
      return {};
    }
    const seconds = Number(pod.metadata.annotations?.[RUN_SECONDS_ANNOTATION] ?? DEFAULT_RUN_SECONDS);
    const startedAt = Date.parse(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? '');
    const elapsed = Number.isNaN(startedAt) ? 0 : this.ctx.clock.now() - startedAt;
    const runMs = Number.isFinite(seconds) ? seconds * 1000 : DEFAULT_RUN_SECONDS * 1000;
    return {
      timer: this.ctx.clock.setTimer(
        Math.max(0, runMs - elapsed),
        contained(this.ctx, KUBELET_ACTOR, () => this.complete(key, uid, 0)),
      ),
    };
  }

  private behaviourFor(pod: KubeObject): PodBehaviour | undefined {
    for (const fn of this.behaviours) {
      const behaviour = fn(pod);
      if (behaviour) return behaviour;
    }
    return undefined;
  }
}
