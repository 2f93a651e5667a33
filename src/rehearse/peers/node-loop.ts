/**
 * The loops people run today (bench/compare-peers.ts runs them against Midflight; `rehearse --compare`
 * rehearses them on a copy of a cluster): up to `concurrency` nodes at a time, each drained with
 * `kubectl drain` semantics (kubectl-drain.ts), upgraded by the same provider Midflight uses, waited for
 * until Ready at the target, uncordoned. The moment one node is done the next starts: system-upgrade-
 * controller's `concurrency` is a flow, not batches. With a concurrency of 1 it is kured or
 * `kops rolling-update`: one node at a time.
 *
 * Nodes go in the order the API lists them (by name), since none of these tools orders by what runs where.
 * It talks to the cluster only over HTTP, as those tools do.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  type Clock,
  compareVersions,
  formatVersion,
  type KubeVersion,
  minorHops,
  parseVersion,
} from '../../core/index.ts';
import { uncordonNode, waitForNode } from '../../kube/index.ts';
import type { SandboxApiProvider } from '../../providers/index.ts';
import { kubectlDrain } from './kubectl-drain.ts';

const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

export interface NodeLoopOptions {
  kc: KubeConfig;
  clock: Clock;
  provider: SandboxApiProvider;
  target: KubeVersion;
  /** Nodes in flight at once. */
  concurrency: number;
  /** Stops the loop (the bench's clock limit), its reason an Error saying why: nodes in flight stay as they are. */
  signal: AbortSignal;
  /** Told when a node is taken from the queue ('started') and when it is done or failed. */
  onNode?: (node: string, status: 'started' | 'done' | 'failed') => void;
}

export interface NodeLoopResult {
  upgraded: string[];
  /** Set when the loop did not finish: why, naming the nodes in flight and what each waited on. */
  unfinished?: string;
}

export async function runNodeLoop(options: NodeLoopOptions): Promise<NodeLoopResult> {
  const { kc, clock, provider, target, signal } = options;
  const core = kc.makeApiClient(CoreV1Api);
  const queue = (await core.listNode()).items
    .filter((n) => n.metadata?.labels?.[CONTROL_PLANE_ROLE] === undefined)
    .map((n) => ({
      name: n.metadata?.name ?? '',
      version: parseVersion(n.status?.nodeInfo?.kubeletVersion ?? ''),
    }))
    .filter((n) => compareVersions(n.version, target) < 0);
  const upgraded: string[] = [];
  /** Node in flight → what it waits on now. */
  const inFlight = new Map<string, string>();
  const failures: string[] = [];

  const upgradeOne = async (node: string, from: KubeVersion) => {
    options.onNode?.(node, 'started');
    inFlight.set(node, 'draining');
    await kubectlDrain(kc, node, {
      clock,
      signal,
      onRefused: (pod, message) => inFlight.set(node, `draining: eviction of ${pod} refused (${message})`),
    });
    // Note: one provider call per minor, as kubeadm requires and as Midflight calls it.
    for (const hop of minorHops(from, target)) {
      inFlight.set(node, `upgrading to ${formatVersion(hop)}`);
      signal.throwIfAborted();
      await provider.upgradeNode({ node, version: formatVersion(hop) });
    }
    inFlight.set(node, `waiting for Ready at ${formatVersion(target)}`);
    await waitForNode(kc, node, { kubeletVersion: formatVersion(target) }, clock);
    await uncordonNode(kc, node, { clock });
    inFlight.delete(node);
    upgraded.push(node);
    options.onNode?.(node, 'done');
  };

  const slot = async () => {
    while (!signal.aborted) {
      const next = queue.shift();
      if (!next) return;
      try {
        await upgradeOne(next.name, next.version);
      } catch (err) {
        if (signal.aborted) return;
        failures.push(`${next.name}: ${(err as Error).message}`);
        inFlight.delete(next.name);
        options.onNode?.(next.name, 'failed');
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, slot));

  if (signal.aborted) {
    const waiting = [...inFlight].map(([node, what]) => `${node} ${what}`);
    return {
      upgraded,
      unfinished: `${(signal.reason as Error).message}, ${queue.length + inFlight.size} node(s) to go: ${waiting.join('; ')}`,
    };
  }
  if (failures.length > 0) return { upgraded, unfinished: `failed: ${failures.join('; ')}` };
  return { upgraded };
}
