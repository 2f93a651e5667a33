/** The README's cluster: `demo` (3 control-plane members, two pools, add-ons) upgraded end to end. */
import { describe, expect, it } from 'vitest';
import { minorDistance, parseVersion } from '../../src/core/versions.ts';
import { startRun } from '../../src/engine/index.ts';
import { startSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  TIME_SCALE,
  testPolicy,
} from './engine-harness.ts';

describe('the demo cluster', () => {
  it('goes from v1.30.6 to v1.31.2: control plane one member at a time, canary, pools, add-ons', async () => {
    const sandbox = await startSandbox({ scenario: 'demo', timeScale: TIME_SCALE });
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    try {
      // The demo's bare pod and emptyDir pod need what `kubectl drain --force --delete-emptydir-data` does.
      const policy = testPolicy({
        preflight: { skip: [] },
        drain: { timeout: '5m', force: true, deleteEmptyDirData: true },
      });
      const plan = await planFor(sandbox, 'v1.31.2', policy);
      let inFlightCp = 0;
      let maxInFlightCp = 0;
      h.deps.onEvent = (e) => {
        if (e.type !== 'node-changed' || !e.node.startsWith('cp-')) return;
        if (e.activity === 'start') maxInFlightCp = Math.max(maxInFlightCp, ++inFlightCp);
        if (e.activity === 'done') inFlightCp--;
      };
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      expect(maxInFlightCp).toBe(1);
      await expectUpgraded(sandbox, 'v1.31.2');
      // Each node once per minor it was behind: the v1.29 compute pool through v1.30 first.
      for (const n of await nodes(sandbox)) {
        const hops = provider.upgrades.filter((u) => u.node === n.name);
        expect(hops.at(-1)?.to).toBe('v1.31.2');
        for (const [i, hop] of hops.entries()) {
          if (i > 0) expect(hop.from).toBe(hops[i - 1]!.to);
          expect(minorDistance(parseVersion(hop.from), parseVersion(hop.to))).toBeLessThanOrEqual(1);
        }
        expect({ node: n.name, calls: hops.length }).toEqual({
          node: n.name,
          calls: n.name.startsWith('compute-') ? 2 : 1,
        });
      }
      const images = await sandbox.kubectl(
        'get',
        'daemonset/kube-proxy',
        'deployment/coredns',
        '-n',
        'kube-system',
        '-o',
        'jsonpath={.items[*].spec.template.spec.containers[0].image}',
      );
      expect(images.stdout).toBe(
        'registry.k8s.io/kube-proxy:v1.31.2 registry.k8s.io/coredns/coredns:v1.11.3',
      );
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 40_000);
});
