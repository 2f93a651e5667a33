/**
 * The sandbox's upgrade endpoint, polled as a cloud API's node operation: the poller waits as long as the
 * answer's Retry-After says (the reboot's downtime left), so it asks a couple of times per node instead of
 * once a second through the reboot, and still sees the end at the clock second the reboot ends.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { SandboxApiProvider } from '../../src/providers/index.ts';
import { startInProcess } from '../../src/sandbox/in-process.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';

const SCENARIO = parseScenario(
  `name: provider-poll
kubernetesVersion: v1.31.2
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 1, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }]
timing: { nodeUpgradeSeconds: 60 }
`,
  'provider-poll.yaml',
);

describe('SandboxApiProvider', () => {
  it('polls a reboot after its Retry-After and sees it end on time', async () => {
    const cluster = await startInProcess(SCENARIO);
    try {
      const kc = new KubeConfig();
      kc.loadFromString(cluster.kubeconfig);
      const provider = new SandboxApiProvider(kc, cluster.clock);
      const start = cluster.clock.now();
      await provider.upgradeNode({ node: 'general-1', version: 'v1.31.2' });
      // The reboot takes 60 s of clock; polling every second would have seen it end at the same second.
      expect(cluster.clock.now() - start).toBe(60_000);
      expect(provider.requests).toEqual({ POST: 1, GET: 1 });
      const node = cluster.sandbox.ctx.store.get('nodes', undefined, 'general-1');
      expect(node?.status?.nodeInfo?.kubeletVersion).toBe('v1.31.2');
    } finally {
      await cluster.stop();
    }
  });
});
