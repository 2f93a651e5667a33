/**
 * What the engine refuses before touching anything: plans that are not plans, edited plans, plans for
 * another cluster or an outdated version; and a second run while one holds the cluster's Lease.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/core/clock.ts';
import { PlanRejectedError, startRun } from '../../src/engine/index.ts';
import { acquireLease, LeaseHeldError } from '../../src/kube/lease-lock.ts';
import { type Plan, planId } from '../../src/plan/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { SkewedClock } from '../kube/skewed-clock.ts';
import {
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  startCluster,
  TIME_SCALE,
} from './engine-harness.ts';

const rehash = (p: Plan): Plan => ({ ...p, id: planId(p) });

describe('plan guards and the cluster lease', () => {
  let sandbox: RunningSandbox;
  let plan: Plan;
  beforeAll(async () => {
    sandbox = await startCluster(SMALL_CLUSTER);
    plan = await planFor(sandbox, 'v1.31.2');
  }, 30_000);
  afterAll(async () => sandbox?.stop());

  it.each<[string, (p: Plan) => unknown, string, RegExp]>([
    ['not a plan', () => ({ hello: 'world' }), 'invalid', /schemaVersion: must be/],
    [
      'a step with a bad node list',
      (p) => {
        const copy = structuredClone(p) as unknown as { phases: Array<{ steps: Array<{ nodes: unknown }> }> };
        copy.phases[3]!.steps[0]!.nodes = 'batch-1';
        return copy;
      },
      'invalid',
      /phases\[3\]\.steps\[0\]\.nodes: must be a list of node names/,
    ],
    [
      'with an etcd member step that names no member',
      (p) => {
        const copy = structuredClone(p) as unknown as { phases: unknown[] };
        copy.phases.splice(1, 0, {
          kind: 'etcd',
          name: 'etcd: rolling restart',
          estimateSeconds: 0,
          steps: [
            {
              id: 'etcd-a',
              kind: 'etcd-member',
              title: 'Restart etcd member a',
              endpoint: 'http://127.0.0.1:2379',
              nodes: [],
              reasons: [],
              checks: [],
              rollback: '',
              estimateSeconds: 0,
            },
          ],
        });
        return copy;
      },
      'invalid',
      /phases\[1\]\.steps\[0\]\.member: must name the etcd member's name/,
    ],
    [
      'edited by hand',
      (p) => {
        const copy = structuredClone(p);
        copy.phases[3]!.steps[0]!.nodes.push('general-3');
        return copy;
      },
      'edited',
      /was changed after it was written/,
    ],
    [
      'for another cluster',
      (p) => rehash({ ...p, cluster: { ...p.cluster, fingerprint: 'another-uid' } }),
      'other-cluster',
      /written for another cluster/,
    ],
    [
      'from a version the cluster has passed',
      (p) => rehash({ ...p, source: 'v1.29.10' }),
      'version-passed',
      /starts from v1.29.10 but the cluster's control plane now runs v1.30.6/,
    ],
    [
      'for the version it runs',
      (p) => rehash({ ...p, target: 'v1.30.6' }),
      'target-reached',
      /already runs v1.30.6/,
    ],
  ])('refuses a plan %s, changing nothing', async (_what, edit, rejection, message) => {
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const err = await startRun(h.deps, edit(plan), FAST).catch((e) => e);
      expect(err).toBeInstanceOf(PlanRejectedError);
      expect(err).toMatchObject({ rejection });
      expect(err.message).toMatch(message);
      expect(h.deps.store.listRuns()).toEqual([]);
      expect((await nodes(sandbox)).filter((n) => n.unschedulable || n.version !== 'v1.30.6')).toEqual([]);
      const lease = await sandbox
        .kubeConfig()
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'midflight-upgrade', namespace: 'kube-system' })
        .catch(() => undefined);
      expect(lease).toBeUndefined();
    } finally {
      h.cleanup();
    }
  });

  it('refuses a run while another holds the lease, and takes over a lease left by a dead process', async () => {
    const leases = sandbox.kubeConfig().makeApiClient(CoordinationV1Api);
    // Another operator's machine, its clock ten minutes ahead: its timestamps are never compared with ours.
    const elsewhere = new SkewedClock(new ScaledClock(TIME_SCALE), 10 * 60_000);
    const other = await acquireLease(sandbox.kubeConfig(), {
      holder: 'midflight/run-other@elsewhere:1',
      clock: elsewhere,
      leaseDurationSeconds: 60,
      renewIntervalMs: 5_000,
    });
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const err = await startRun(h.deps, plan, FAST).catch((e) => e);
      expect(err).toBeInstanceOf(LeaseHeldError);
      expect(err.message).toMatch(
        /another run holds lease kube-system\/midflight-upgrade: midflight\/run-other@elsewhere:1 since/,
      );
      expect(h.deps.store.listRuns()).toEqual([]);

      // The other process hangs after one last renewal: this run takes the lease once it has watched it
      // unchanged for its 60 s.
      await other.renew();
      elsewhere.stop();
      let second: Promise<unknown> | undefined;
      h.deps.onEvent = (e) => {
        if (e.type === 'run-started' && !second)
          second = startRun({ ...h.deps, onEvent: undefined }, plan, FAST).catch((x) => x);
      };
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('succeeded');
      expect(await second).toBeInstanceOf(LeaseHeldError);
      await expectUpgraded(sandbox, 'v1.31.2');
      const after = await leases.readNamespacedLease({ name: 'midflight-upgrade', namespace: 'kube-system' });
      expect(after.spec?.holderIdentity ?? '').toBe('');
    } finally {
      h.cleanup();
    }
  }, 30_000);
});
