import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import { rfc3339 } from '../../store/deletion.ts';
import type { KubeObject, StoreEvent } from '../../store/types.ts';
import { OwnerController } from './owner-controller.ts';
import { controllerRefTo } from './owner-refs.ts';
import { createPodFromTemplate, deleteControlledPod } from './pod-from-template.ts';
import { isActive, isPodReady, isTerminal, isTerminating } from './pod-state.ts';
import { podsToDelete } from './replicaset-controller.ts';
import { updateStatusIfChanged } from './status-writer.ts';
import { splitQueueKey } from './work-queue.ts';

/** What the controller has counted of one Job's finished pods (upstream tracks this with pod finalizers). */
interface JobTally {
  succeeded: number;
  failed: number;
  counted: Set<string>;
}

/**
 * Runs Jobs' pods to `completions` successes, `parallelism` at a time, and fails a Job once more than
 * `backoffLimit` of its pods failed (a pod removed before finishing counts as failed, as upstream counts it).
 * A template's spec.nodeName (upgrade Jobs pinned to a node) is kept.
 * Note: no exponential back-off between retries; Indexed completion mode is not modelled.
 */
export class JobController extends OwnerController {
  private readonly tallies = new Map<string, JobTally>();
  /** Pods this controller deleted itself (surplus, or cleanup after the end): not failures. */
  private readonly deletedByController = new Set<string>();

  constructor(ctx: SandboxContext) {
    super(ctx, { name: 'job-controller', owners: R.jobs, ownerKind: 'Job', owned: R.pods });
  }

  protected override onOwnerSeen(job: KubeObject): void {
    const uid = job.metadata.uid ?? '';
    if (this.tallies.has(uid)) return;
    // Finished pods already there are in the stored counts (a restarted controller must not count twice).
    const counted = new Set(
      this.ownedBy(uid)
        .filter(isTerminal)
        .map((p) => p.metadata.uid ?? ''),
    );
    this.tallies.set(uid, {
      succeeded: job.status?.succeeded ?? 0,
      failed: job.status?.failed ?? 0,
      counted,
    });
  }

  protected override onOwnerDeleted(job: KubeObject): void {
    this.tallies.delete(job.metadata.uid ?? '');
  }

  protected override onOwnedChange(event: StoreEvent, jobUids: string[]): void {
    for (const uid of jobUids) {
      if (event.type === 'DELETED') this.countRemoved(uid, event.object);
      this.enqueueUid(uid);
    }
  }

  private countRemoved(jobUid: string, pod: KubeObject): void {
    const podUid = pod.metadata.uid ?? '';
    const byController = this.deletedByController.delete(podUid);
    const tally = this.tallies.get(jobUid);
    if (!tally || tally.counted.has(podUid)) {
      tally?.counted.delete(podUid);
      return;
    }
    if (pod.status?.phase === 'Succeeded') tally.succeeded++;
    else if (!byController) tally.failed++;
  }

  protected sync(key: string): void {
    const [namespace, name] = splitQueueKey(key);
    const job = this.ctx.store.get(R.jobs, namespace, name);
    if (!job || job.metadata.deletionTimestamp || job.spec?.suspend) return;
    const tally = this.tallies.get(job.metadata.uid ?? '');
    if (!tally) return;
    const pods = this.ownedBy(job.metadata.uid);
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      if (!isTerminal(pod) || tally.counted.has(uid)) continue;
      tally.counted.add(uid);
      if (pod.status.phase === 'Succeeded') tally.succeeded++;
      else tally.failed++;
    }
    const now = this.ctx.clock.now();
    const completions = job.spec?.completions ?? 1;
    const parallelism = job.spec?.parallelism ?? 1;
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    let conditions: JobCondition[] = job.status?.conditions ?? [];
    let completionTime: string | undefined = job.status?.completionTime;
    let active = pods.filter(isActive);
    const finished = conditions.some(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );

    if (!finished) {
      const restarts = active.reduce((n, pod) => n + restartCount(pod), 0);
      const onFailure = job.spec?.template?.spec?.restartPolicy === 'OnFailure';
      if (tally.failed > backoffLimit || (onFailure && tally.failed + restarts > backoffLimit)) {
        conditions = [
          ...conditions,
          condition(
            'FailureTarget',
            'BackoffLimitExceeded',
            'Job has reached the specified backoff limit',
            now,
          ),
          condition('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now),
        ];
      } else if (tally.succeeded >= completions) {
        conditions = [
          ...conditions,
          condition(
            'SuccessCriteriaMet',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
            now,
          ),
          condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', now),
        ];
        completionTime = rfc3339(now);
      } else {
        const want = Math.min(parallelism, completions - tally.succeeded);
        for (let i = active.length; i < want; i++) this.createPod(job);
        if (active.length > want) this.remove(podsToDelete(active, active.length - want));
      }
    }
    if (conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) {
      this.remove(active);
      active = [];
    }
    active = this.ownedBy(job.metadata.uid).filter(isActive);
    updateStatusIfChanged(this.ctx.store, R.jobs, job, {
      ...job.status,
      conditions: conditions.length ? conditions : undefined,
      startTime: job.status?.startTime ?? rfc3339(now),
      completionTime,
      active: active.length,
      ready: active.filter(isPodReady).length,
      succeeded: tally.succeeded,
      failed: tally.failed,
      terminating: this.ownedBy(job.metadata.uid).filter((p) => isTerminating(p) && !isTerminal(p)).length,
      uncountedTerminatedPods: {},
    });
  }

  private remove(pods: KubeObject[]): void {
    for (const pod of pods) {
      this.deletedByController.add(pod.metadata.uid ?? '');
      deleteControlledPod(this.ctx, pod);
    }
  }

  private createPod(job: KubeObject): void {
    const name = job.metadata.name ?? '';
    const uid = job.metadata.uid ?? '';
    createPodFromTemplate(this.ctx, job.spec?.template, {
      generateName: `${name}-`,
      namespace: job.metadata.namespace ?? '',
      ownerRef: controllerRefTo(job, 'batch/v1', 'Job'),
      labels: {
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': name,
        'controller-uid': uid,
        'job-name': name,
      },
    });
  }
}

interface JobCondition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

function condition(type: string, reason: string, message: string, now: number): JobCondition {
  const stamp = rfc3339(now);
  return { type, status: 'True', lastProbeTime: stamp, lastTransitionTime: stamp, reason, message };
}

function restartCount(pod: KubeObject): number {
  const statuses: Array<{ restartCount?: number }> = pod.status?.containerStatuses ?? [];
  return statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
}
