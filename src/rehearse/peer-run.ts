/**
 * A rehearsal run of one of the loops people run today instead of Midflight's engine, for `rehearse
 * --compare`: up to N nodes at a time, each drained with `kubectl drain` semantics (peers/node-loop.ts; one at
 * a time is kured's or `kops rolling-update`'s way, N system-upgrade-controller's), on the same copy.
 *
 * Note: those loops upgrade worker nodes only, so the copy's control plane starts at the target and the run
 * is the node phase alone; the nodes go through the sandbox's own upgrade (one call per minor). Its outcome
 * takes the shape of the engine's run summary, so the rehearsal reads both alike.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { type Clock, formatVersion, type KubeVersion } from '../core/index.ts';
import type { NodeOutcome, RunEvent, RunSummary } from '../engine/index.ts';
import { SandboxApiProvider } from '../providers/index.ts';
import type { Scenario } from '../sandbox/scenario/scenario-types.ts';
import { runNodeLoop } from './peers/node-loop.ts';

/** What a rehearsal reads of a run: the engine's summary, or a peer's in its shape. */
export type RunOutcome = Pick<RunSummary, 'state' | 'reason' | 'durationMs' | 'phases'> & {
  nodePhase?: { durationMs: number };
  nodes: Pick<RunSummary['nodes'], 'failed' | 'skipped' | 'quarantined'>;
};

export interface PeerRunInput {
  kc: KubeConfig;
  clock: Clock;
  target: KubeVersion;
  /** Nodes in flight at once: 1 is one node at a time. */
  concurrency: number;
  /** Stops the loop (the rehearsal's clock limit). */
  signal: AbortSignal;
  /** Told of each node's start and end, as the engine's node-changed events. */
  onEvent: (e: RunEvent) => void;
}

const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

/** The peer's name in a report: "one node at a time" or "fixed concurrency N". */
export function peerName(concurrency: number): string {
  return concurrency === 1 ? 'one node at a time' : `fixed concurrency ${concurrency}`;
}

/** The copy with its control plane (the API server and every control-plane node) already at `target`. */
export function withControlPlaneAt(scenario: Scenario, target: KubeVersion): Scenario {
  const version = formatVersion(target);
  return {
    ...scenario,
    kubernetesVersion: version,
    controlPlane: { ...scenario.controlPlane, kubeletVersion: version },
    ...(scenario.nodes
      ? {
          nodes: scenario.nodes.map((n) =>
            n.labels[CONTROL_PLANE_ROLE] === undefined ? n : { ...n, kubeletVersion: version },
          ),
        }
      : {}),
  };
}

export async function runPeer(input: PeerRunInput): Promise<RunOutcome> {
  const { kc, clock, concurrency } = input;
  const start = clock.now();
  const failed: NodeOutcome[] = [];
  const result = await runNodeLoop({
    kc,
    clock,
    provider: new SandboxApiProvider(kc, clock),
    target: input.target,
    concurrency,
    signal: input.signal,
    onNode: (node, status) => {
      if (status === 'failed') failed.push({ node, stepId: 'peer', reason: 'its upgrade failed' });
      input.onEvent({
        type: 'node-changed',
        runId: 'peer',
        time: clock.now(),
        stepId: 'peer',
        node,
        status: status === 'started' ? 'running' : status,
      });
    },
  });
  const durationMs = clock.now() - start;
  const finished = result.unfinished === undefined;
  return {
    state: finished ? 'succeeded' : 'failed',
    ...(finished ? {} : { reason: result.unfinished }),
    durationMs,
    phases: [
      {
        index: 0,
        kind: 'node-pool',
        name: `Nodes, ${peerName(concurrency)} (kubectl drain)`,
        status: finished ? 'done' : 'failed',
        durationMs,
      },
    ],
    ...(finished ? { nodePhase: { durationMs } } : {}),
    nodes: { failed, skipped: [], quarantined: [] },
  };
}
