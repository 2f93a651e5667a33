/**
 * `midflight demo --surge`: the demo's policy with its `general` pool replaced instead of upgraded in
 * place (strategy surge, docs/policy.md): two new nodes at the target at a time, each Ready before an old
 * node is cordoned, the old ones drained and deleted, the pool never short of a node; the sandbox's node
 * group API creates and deletes the nodes (nodeProvider kind sandbox).
 */
import type { Policy } from '../plan/index.ts';

/** The demo pool that `--surge` replaces. */
export const DEMO_SURGE_POOL = 'general';

export function withSurgePool(policy: Policy, pool = DEMO_SURGE_POOL): Policy {
  const surge = { name: pool, strategy: 'surge' as const, maxSurge: 2, maxUnavailable: 0 };
  const listed = policy.pools.some((p) => p.name === pool);
  return {
    ...policy,
    pools: listed
      ? policy.pools.map((p) => (p.name === pool ? { ...p, ...surge } : p))
      : [...policy.pools, surge],
    nodeProvider: policy.nodeProvider ?? { kind: 'sandbox' },
  };
}
