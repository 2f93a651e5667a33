/**
 * The built-in templates M1–M7 and burn-rate on the SLIs the sandbox exports, read through a real
 * Prometheus scraping it (the shared harness): each measures a number and passes on a healthy cluster, and
 * the faults that move an SLI fail its gate (a slow etcd disk fails M6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../src/core/index.ts';
import { createGateMonitor, type GateEvaluation, validateGates } from '../../src/gates/index.ts';
import {
  type RunningPrometheus,
  requireBinary,
  scrapeTargetOf,
  startPrometheus,
} from '../e2e/prometheus-harness.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { patchFaults } from '../kube/sandbox-faults.ts';

const available = requireBinary('prometheus');

describe.skipIf(!available)('gate templates on the sandbox through Prometheus', () => {
  let sandbox: RunningSandbox;
  let prom: RunningPrometheus;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'regression', timeScale: 20 });
    prom = await startPrometheus({ targets: [scrapeTargetOf(sandbox.kubeConfig())] });
    await prom.waitForTargetsUp();
    // A few scrapes of traffic, so that every rate() over the short windows below has two samples.
    await prom.waitFor('count_over_time(up{job="sandbox"}[1m])', (s) => (s[0]?.value ?? 0) >= 5);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await sandbox?.stop();
  });

  async function evaluate(raw: unknown[]): Promise<GateEvaluation[]> {
    const { gates, errors } = validateGates(raw, 'gates', { prometheusConfigured: true });
    expect(errors).toEqual([]);
    const evaluations: GateEvaluation[] = [];
    const monitor = createGateMonitor(gates, {
      clock: new RealClock(),
      kc: sandbox.kubeConfig(),
      runId: 'run-templates',
      prometheus: { url: prom.url },
      nodesInFlight: () => [],
      onEvaluation: (e) => evaluations.push(e),
    });
    await monitor.baseline({});
    await monitor.check();
    return evaluations;
  }

  it('measures every template on a healthy cluster, and each passes', async () => {
    const storefront = { service: 'storefront', namespace: 'shop', window: '30s' };
    const evaluations = await evaluate([
      { template: 'M1', provider: 'prometheus' },
      { template: 'M2', provider: 'prometheus' },
      { template: 'M3', provider: 'prometheus' },
      { template: 'M4', args: storefront },
      { template: 'M5', args: storefront },
      { template: 'M6', args: { window: '30s' } },
      { template: 'M7', args: { window: '30s' } },
      { template: 'burn-rate', name: 'storefront-slo', args: { service: 'storefront', objective: '99%' } },
    ]);
    expect(evaluations.map((e) => [e.gate, e.verdict, e.error])).toEqual([
      ['M1', 'success', undefined],
      ['M2', 'success', undefined],
      ['M3', 'success', undefined],
      ['M4-storefront', 'success', undefined],
      ['M5-storefront', 'success', undefined],
      ['M6', 'success', undefined],
      ['M7', 'success', undefined],
      ['storefront-slo', 'success', undefined],
    ]);
    expect(evaluations.find((e) => e.gate === 'M4-storefront')!.baseline).toBeGreaterThan(0);
  });

  it("fails M6 when an etcd member's disk is slow", async () => {
    await patchFaults(sandbox, { etcdSlowDisk: { '*': 400 } });
    try {
      await prom.waitFor(
        'histogram_quantile(0.99, sum by (le) (rate(etcd_disk_backend_commit_duration_seconds_bucket[10s])))',
        (s) => (s[0]?.value ?? 0) > 0.2,
      );
      const [m6] = await evaluate([{ template: 'M6', args: { window: '10s' } }]);
      expect(m6).toMatchObject({ gate: 'M6', verdict: 'failure' });
      expect(m6!.value).toBeGreaterThan(0.2);
    } finally {
      await patchFaults(sandbox, { etcdSlowDisk: {} });
    }
  });
});
