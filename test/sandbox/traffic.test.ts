import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { buildCluster } from '../../src/sandbox/scenario/build-cluster.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { serviceHealth, TrafficGenerator } from '../../src/sandbox/sim/traffic.ts';
import { scenarioTestContext } from './scenario-test-context.ts';

const PROFILE = { rps: 100, latencyMs: 40, errorRatio: 0.001 };

describe('serviceHealth', () => {
  it.each([
    // desired, ready, capacity, errorRatio, latencyMs
    [4, 4, 1, 0.001, 40],
    [4, 3, 0.75, 0.001, 53.333],
    [4, 2, 0.5, 0.001, 80],
    [6, 2, 1 / 3, 0.001 + 1 / 3, 120],
    [4, 0, 0, 1, 40],
  ])(
    'desired %d, ready %d → capacity %d, errors %d, latency %d ms',
    (desired, ready, capacity, errors, latency) => {
      const h = serviceHealth(PROFILE, desired, ready);
      expect(h.capacity).toBeCloseTo(capacity, 3);
      expect(h.errorRatio).toBeCloseTo(errors, 3);
      expect(h.latencyMs).toBeCloseTo(latency, 2);
    },
  );

  it('adds a version regression in proportion to the share of ready pods on the faulty version', () => {
    const h = serviceHealth(PROFILE, 4, 4, [{ share: 0.5, errorRatio: 0.08, extraLatencyMs: 250 }]);
    expect(h.errorRatio).toBeCloseTo(0.041, 5);
    expect(h.latencyMs).toBeCloseTo(165, 5);
  });
});

describe('TrafficGenerator', () => {
  function setup() {
    const clock = new VirtualClock();
    const ctx = scenarioTestContext(clock);
    buildCluster(
      ctx,
      parseScenario(
        `name: t
kubernetesVersion: v1.31.4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 4, capacity: { cpu: "4", memory: 16Gi } }]
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 4, traffic: { rps: 100, latencyMs: 40, errorRatio: 0.001 } }
  - { name: quiet, namespace: app, kind: Deployment, replicas: 2 }
`,
        't.yaml',
      ),
    );
    const traffic = new TrafficGenerator(ctx);
    traffic.start();
    return { ctx, clock, traffic };
  }

  it('serves rps × elapsed requests per tick and exports them', async () => {
    const { ctx, clock, traffic } = setup();
    await clock.advance(ctx.timing.trafficTickMs);
    const [sample] = traffic.samples();
    expect(traffic.samples()).toHaveLength(1);
    expect(sample).toMatchObject({
      namespace: 'app',
      service: 'web',
      desired: 4,
      ready: 4,
      requests: 500,
      errors: 0,
    });
    await clock.advance(ctx.timing.trafficTickMs);
    expect(traffic.samples()[0]!.errors).toBe(1);
    const text = await ctx.metrics.metrics();
    expect(text).toContain('http_requests_total{namespace="app",service="web",code="200"} 999');
    expect(text).toContain('http_requests_total{namespace="app",service="web",code="500"} 1');
    expect(text).toContain('http_request_duration_seconds_count{namespace="app",service="web"} 1000');
    traffic.stop();
  });

  it('reacts to lost capacity and to a version regression', () => {
    const { ctx, traffic } = setup();
    traffic.tick();
    const pods = ctx.store.list(R.pods, 'app', (p) => p.metadata.labels?.app === 'web');
    for (const pod of pods.slice(0, 3)) {
      ctx.store.mutate(R.pods, 'app', pod.metadata.name!, (p) => {
        p.status.conditions.find((c: { type: string }) => c.type === 'Ready').status = 'False';
      });
    }
    let sample = traffic.tick()[0]!;
    expect(sample).toMatchObject({ ready: 1, capacity: 0.25 });
    expect(sample.errorRatio).toBeCloseTo(0.501, 5);
    expect(sample.latencyMs).toBeCloseTo(160, 5);

    const remaining = pods[3]!;
    ctx.faults.versionRegressions.push({ kubeletVersion: 'v1.32.0', errorRatio: 0.08, extraLatencyMs: 250 });
    ctx.store.mutate(R.nodes, undefined, remaining.spec.nodeName, (n) => {
      n.status.nodeInfo.kubeletVersion = 'v1.32.0';
    });
    sample = traffic.tick()[0]!;
    expect(sample.errorRatio).toBeCloseTo(0.581, 5);
    expect(sample.latencyMs).toBeCloseTo(410, 5);
    traffic.stop();
  });
});
