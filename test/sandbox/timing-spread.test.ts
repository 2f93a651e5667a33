/**
 * A scenario's `timing.spread`: workers reboot and pods stop in times that differ from one another around
 * the scenario's values, the same way for every client of the same seed (compare-peers --seeds relies on
 * it), and not at all without a spread. Measured through the sandbox's HTTP API on its virtual clock.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { SandboxApiProvider } from '../../src/providers/index.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { startInProcess } from '../../src/sandbox/in-process.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { ScenarioError } from '../../src/sandbox/scenario/yaml-checker.ts';
import { spreadMs } from '../../src/sandbox/sim/timing-spread.ts';

const scenarioYaml = (spread: string) => `
name: spread
kubernetesVersion: v1.31.4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 4, version: v1.30.8, capacity: { cpu: "8", memory: 32Gi } }]
workloads:
  - { name: web, namespace: shop, kind: Deployment, replicas: 4 }
timing:
  podStopSeconds: 10
  nodeUpgradeSeconds: 30
${spread}
`;

/** Each worker's upgrade through the sandbox's upgrade endpoint, all at once: clock ms until each was done. */
async function rebootTimes(spread: string): Promise<{ reboots: number[]; podStops: number[] }> {
  const running = await startInProcess(parseScenario(scenarioYaml(spread), 'spread.yaml'));
  try {
    const { clock } = running;
    const kc = new KubeConfig();
    kc.loadFromString(running.kubeconfig);
    const provider = new SandboxApiProvider(kc, clock);
    const start = clock.now();
    const reboots = await Promise.all(
      ['general-1', 'general-2', 'general-3', 'general-4'].map(async (node) => {
        await provider.upgradeNode({ node, version: 'v1.31.4' });
        return clock.now() - start;
      }),
    );
    // Each web pod deleted at once (SIGTERM honoured): when each is gone from the API.
    const core = kc.makeApiClient(CoreV1Api);
    const pods = running.sandbox.ctx.store.list(R.pods).filter((p) => p.metadata.namespace === 'shop');
    const deletedAt = clock.now();
    const podStops = await Promise.all(
      pods.map(async (pod) => {
        await core.deleteNamespacedPod({ namespace: 'shop', name: pod.metadata.name ?? '' });
        while (running.sandbox.ctx.store.get(R.pods, 'shop', pod.metadata.name ?? '')) await clock.sleep(100);
        return clock.now() - deletedAt;
      }),
    );
    return { reboots, podStops };
  } finally {
    await running.stop();
  }
}

describe('timing spread', () => {
  it('without a spread, every worker reboots and every pod stops in the scenario’s time', async () => {
    const { reboots, podStops } = await rebootTimes('');
    // The provider polls at the endpoint's Retry-After, so it sees the end on the second it happens.
    expect(new Set(reboots)).toEqual(new Set([30_000]));
    expect(podStops.every((ms) => ms >= 10_000 && ms <= 10_100)).toBe(true);
  });

  it('with one, they differ, within ±ratio, and replay the same for the same seed', async () => {
    const spread = '  spread: { ratio: 0.2, seed: 7 }';
    const first = await rebootTimes(spread);
    expect(new Set(first.reboots).size).toBeGreaterThan(1);
    // ±20 % of 30 s, seen at the next whole second.
    for (const ms of first.reboots) expect(ms >= 24_000 && ms <= 37_000).toBe(true);
    expect(new Set(first.podStops).size).toBeGreaterThan(1);
    for (const ms of first.podStops) expect(ms >= 8_000 && ms <= 12_100).toBe(true);
    expect(await rebootTimes(spread)).toEqual(first);
    expect((await rebootTimes('  spread: { ratio: 0.2, seed: 8 }')).reboots).not.toEqual(first.reboots);
  });

  it.each([
    [0.1, 'general-1', 30_000, 1],
    [0.5, 'general-2', 30_000, 42],
    [0.2, 'web@general-1', 2_000, 3],
  ])('spreadMs stays within ±%s of the value (%s)', (ratio, key, base, seed) => {
    const ms = spreadMs(base, { ratio, seed }, 'nodeUpgrade', key);
    expect(ms).toBeGreaterThanOrEqual(base * (1 - ratio));
    expect(ms).toBeLessThanOrEqual(base * (1 + ratio));
    expect(spreadMs(base, { ratio, seed }, 'nodeUpgrade', key)).toBe(ms);
    expect(spreadMs(base, undefined, 'nodeUpgrade', key)).toBe(base);
  });

  it('refuses a ratio above 0.5, naming the field', () => {
    let err: unknown;
    try {
      parseScenario(scenarioYaml('  spread: { ratio: 0.8 }'), 'spread.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).message).toMatch(/timing\.spread\.ratio.*from 0 to 0\.5/s);
  });
});
