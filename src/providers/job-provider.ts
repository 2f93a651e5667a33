/**
 * The `job` provider, as system-upgrade-controller does it: a privileged Job pinned to the node
 * (spec.nodeName, so the cordon does not keep it off) that runs the user's image and script, tolerating the
 * taints a cordoned or rebooting node carries. Its name is derived from (run, node, version), so a resumed
 * run re-attaches to the Job it started instead of creating a second one.
 */
import { createHash } from 'node:crypto';
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import type { Clock } from '../core/index.ts';
import { isNotFound, withRetries } from '../kube/index.ts';
import { OutputTail, ProviderError, type UpgradeContext, type UpgradeProvider } from './upgrade-provider.ts';

export const TARGET_VERSION_ANNOTATION = 'upgrade.midflight.dev/target-version';
export const RUN_ID_LABEL = 'upgrade.midflight.dev/run-id';
export const NODE_LABEL = 'upgrade.midflight.dev/node';

export interface JobProviderOptions {
  kc: KubeConfig;
  clock: Clock;
  image: string;
  /** The container's command; the node, versions and role are also in its environment. */
  command: string[];
  /** Default kube-system. */
  namespace?: string;
  serviceAccountName?: string;
  /** Run privileged with the host's PID namespace (needed to upgrade packages on the host). Default true. */
  privileged?: boolean;
  /** Clock ms to wait for the Job to finish; 0 = no limit, as for the command provider. Default 30 minutes. */
  timeoutMs?: number;
  /** Clock ms between status reads. Default 2 s. */
  pollIntervalMs?: number;
  /** The job replaces the node rather than upgrading it in place (see UpgradeProvider.skipsMinors). */
  skipsMinors?: boolean;
}

/** Deterministic Job name: one Job per (run, node, version), re-found after a restart. */
export function upgradeJobName(runId: string, node: string, version: string): string {
  const hash = createHash('sha256').update(`${runId}\n${node}\n${version}`).digest('hex').slice(0, 10);
  const readable = node
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30)
    .replace(/-+$/, '');
  return `midflight-upgrade-${readable}-${hash}`;
}

/** A label value: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
function labelValue(v: string): string {
  return v
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

export class JobProvider implements UpgradeProvider {
  readonly kind = 'job';
  readonly skipsMinors: boolean;
  private readonly namespace: string;

  constructor(private readonly options: JobProviderOptions) {
    this.namespace = options.namespace ?? 'kube-system';
    this.skipsMinors = options.skipsMinors ?? false;
  }

  private get batch(): BatchV1Api {
    return this.options.kc.makeApiClient(BatchV1Api);
  }

  private get core(): CoreV1Api {
    return this.options.kc.makeApiClient(CoreV1Api);
  }

  jobFor(ctx: Omit<UpgradeContext, 'signal' | 'log'>): V1Job {
    const name = upgradeJobName(ctx.runId, ctx.node, ctx.version);
    const labels = {
      'app.kubernetes.io/managed-by': 'midflight',
      [RUN_ID_LABEL]: labelValue(ctx.runId),
      [NODE_LABEL]: labelValue(ctx.node),
    };
    const annotations = { [TARGET_VERSION_ANNOTATION]: ctx.version };
    const privileged = this.options.privileged ?? true;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: this.namespace, labels, annotations },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels, annotations },
          spec: {
            nodeName: ctx.node,
            restartPolicy: 'Never',
            hostPID: privileged,
            serviceAccountName: this.options.serviceAccountName,
            // Note: nodeName bypasses the scheduler, so NoSchedule taints (the cordon's) do not matter; the
            // NoExecute ones a rebooting node gets would evict the pod that is upgrading it.
            tolerations: [
              { key: 'node.kubernetes.io/unschedulable', operator: 'Exists' },
              { key: 'node.kubernetes.io/not-ready', operator: 'Exists' },
              { key: 'node.kubernetes.io/unreachable', operator: 'Exists' },
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' },
            ],
            containers: [
              {
                name: 'upgrade',
                image: this.options.image,
                command: this.options.command,
                env: [
                  { name: 'MIDFLIGHT_NODE', value: ctx.node },
                  { name: 'MIDFLIGHT_VERSION', value: ctx.version },
                  { name: 'MIDFLIGHT_PREVIOUS_VERSION', value: ctx.previousVersion },
                  { name: 'MIDFLIGHT_ROLE', value: ctx.role },
                  { name: 'MIDFLIGHT_POOL', value: ctx.pool },
                  { name: 'MIDFLIGHT_RUN_ID', value: ctx.runId },
                ],
                securityContext: privileged ? { privileged: true } : undefined,
              },
            ],
          },
        },
      },
    };
  }

  async upgradeNode(ctx: UpgradeContext): Promise<void> {
    const { clock } = this.options;
    const job = this.jobFor(ctx);
    const name = job.metadata!.name!;
    const ns = this.namespace;
    const existing = await withRetries(clock, `read job ${ns}/${name}`, async () => {
      try {
        return await this.batch.readNamespacedJob({ name, namespace: ns });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
    if (existing) ctx.log(`re-attaching to job ${ns}/${name}`);
    else {
      await withRetries(clock, `create job ${ns}/${name}`, async () => {
        try {
          await this.batch.createNamespacedJob({ namespace: ns, body: job });
        } catch (err) {
          // Created by an earlier attempt whose answer was lost: that is our Job.
          if ((err as { code?: number }).code !== 409) throw err;
        }
      });
      ctx.log(`created job ${ns}/${name} on ${ctx.node}`);
    }

    const timeoutMs = this.options.timeoutMs ?? 30 * 60_000;
    const poll = this.options.pollIntervalMs ?? 2_000;
    const deadline = timeoutMs > 0 ? clock.now() + timeoutMs : Number.POSITIVE_INFINITY;
    let outcome: 'Complete' | 'Failed' | undefined;
    let message = '';
    while (!outcome) {
      if (ctx.signal.aborted)
        throw new ProviderError(`stopped waiting for job ${ns}/${name}: the run is stopping`, ctx.node);
      const current = await withRetries(clock, `read job ${ns}/${name}`, () =>
        this.batch.readNamespacedJob({ name, namespace: ns }),
      );
      const done = current.status?.conditions?.find(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      if (done) {
        outcome = done.type as 'Complete' | 'Failed';
        message = done.message ?? done.reason ?? '';
        break;
      }
      if (clock.now() >= deadline) {
        const tail = await this.podLogs(name, ctx);
        throw new ProviderError(
          `job ${ns}/${name} did not finish within ${Math.round(timeoutMs / 1000)}s`,
          ctx.node,
          tail,
        );
      }
      await clock.sleep(poll);
    }
    const tail = await this.podLogs(name, ctx);
    // A finished Job has done its work either way; delete it so a retry starts a fresh one.
    await this.deleteJob(name);
    if (outcome === 'Failed') {
      throw new ProviderError(
        `job ${ns}/${name} failed on ${ctx.node}${message ? `: ${message}` : ''}${tail.length ? ` | ${tail.slice(-3).join(' | ')}` : ''}`,
        ctx.node,
        tail,
      );
    }
    ctx.log(`job ${ns}/${name} completed`);
  }

  /** The job's pod logs into the run log; an API without pod logs (404) is fine. */
  private async podLogs(jobName: string, ctx: UpgradeContext): Promise<string[]> {
    const tail = new OutputTail();
    try {
      const pods = await withRetries(this.options.clock, `list pods of job ${jobName}`, () =>
        this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${jobName}` }),
      );
      for (const pod of pods.items) {
        let text: string;
        try {
          text = await this.core.readNamespacedPodLog({
            name: pod.metadata!.name!,
            namespace: this.namespace,
            tailLines: 200,
          });
        } catch (err) {
          if (isNotFound(err) || (err as { code?: number }).code === 405) continue;
          throw err;
        }
        for (const line of String(text).split('\n')) {
          if (!line.trim()) continue;
          tail.push(line);
          ctx.log(line);
        }
      }
    } catch (err) {
      ctx.log(`could not read the job's logs: ${(err as Error).message}`);
    }
    return tail.get();
  }

  private async deleteJob(name: string): Promise<void> {
    await withRetries(this.options.clock, `delete job ${this.namespace}/${name}`, async () => {
      try {
        await this.batch.deleteNamespacedJob({
          name,
          namespace: this.namespace,
          propagationPolicy: 'Background',
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }
}
