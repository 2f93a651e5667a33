/**
 * The end-to-end proof, as a user runs it: `midflight sandbox start --scenario regression` in its
 * own process, a real Prometheus (Debian's 2.42) scraping it over TLS with its token, and `midflight apply
 * --to v1.32.0 --policy policy.yaml` in its own process, with a policy that declares a prometheus M5 gate on
 * the storefront's 5xx ratio. Services on kubelet v1.32.0 answer 8 % 5xx (the scenario's versionRegression
 * fault): the gate fails once the pool's upgraded nodes serve storefront, and the run pauses, or rolls the
 * wave back, as the gate's `onFailure` says. What a user sees is asserted: the exit code, `status -o json`
 * with each gate's value, baseline and verdict, no node left cordoned, no disruption budget broken, and
 * after a rollback the wave's nodes back at v1.31.4.
 *
 * Prometheus is skipped with a message when missing, a failure under CI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRaw } from '../../src/kube/index.ts';
import { jsonEvents, spawnCli } from '../cli/run-cli.ts';
import {
  type RunningPrometheus,
  requireBinary,
  scrapeTargetOf,
  startPrometheus,
} from '../e2e/prometheus-harness.ts';
import { type SandboxProcess, startSandboxProcess } from '../e2e/sandbox-process.ts';

const SOURCE = 'v1.31.4';
const TARGET = 'v1.32.0';
/**
 * The sandbox's clock runs ×40: a node's upgrade (30 s of its clock) takes under a second of wall time, while
 * Prometheus scrapes every wall second. The run keeps the sandbox's clock (apply finds it), so the
 * policy's durations below are the cluster's time; PromQL windows are Prometheus' own (wall) time.
 */
const TIME_SCALE = 40;

/**
 * The policy a user would write for the regression cluster, with Prometheus at `url`. One Prometheus scrapes
 * both test clusters here, as one often scrapes several: `selector` keeps each gate to its cluster's job.
 */
function policyYaml(url: string, job: string, onFailure: 'pause' | 'rollback'): string {
  return `apiVersion: midflight.dev/v1alpha1
kind: UpgradePolicy
prometheus:
  url: ${url}
canary:
  nodes: 1
  soak: 1m
timings:
  waveSoak: 2m
provider:
  kind: job
  image: registry.example/node-upgrader:1
  command: kubeadm upgrade node
gates:
  # The storefront's 5xx ratio against its baseline (M5: fails at 2x, never below 0.1 %).
  - template: M5
    args: { service: storefront, namespace: shop, window: 10s, selector: 'job="${job}"' }
    interval: 40s              # one measurement per scrape (every wall second, 40 s of the cluster's)
    baselineWindow: 1m
    onFailure: ${onFailure}
  # Node readiness outside the nodes in flight, from kube-state-metrics-style series: a node that has just
  # come back is still NotReady in Prometheus until its next scrape, and must not fail the gate.
  - template: M2
    provider: prometheus
    args: { selector: 'job="${job}"' }
    interval: 40s
  # The API server's success ratio: it must keep passing through the whole upgrade.
  - template: M1
    provider: prometheus
    args: { window: 10s, selector: 'job="${job}"' }
    interval: 40s
`;
}

interface GateStatus {
  gate: string;
  verdict: string;
  value?: number;
  baseline?: number;
  query: string;
  error?: string;
}

interface NodeView {
  name: string;
  version: string;
  unschedulable: boolean;
}

async function nodesOf(kc: KubeConfig): Promise<NodeView[]> {
  const { items } = await kc.makeApiClient(CoreV1Api).listNode();
  return items.map((n) => ({
    name: n.metadata!.name!,
    version: n.status!.nodeInfo!.kubeletVersion,
    unschedulable: n.spec?.unschedulable === true,
  }));
}

async function violations(kc: KubeConfig): Promise<unknown[]> {
  const res = await requestRaw(kc, 'GET', '/sandbox/v1/violations');
  return (JSON.parse(res.body) as { items: unknown[] }).items;
}

type Outcome = Awaited<ReturnType<typeof gatedApply>>;

/**
 * Applies the upgrade to the sandbox with a policy whose gates read Prometheus' `job` series, and hands back
 * what a user would look at afterwards: apply's exit and events, `status -o json`, the nodes, the sandbox's
 * record of disruption-budget violations.
 */
async function gatedApply(
  sandbox: SandboxProcess,
  prom: RunningPrometheus,
  dir: string,
  onFailure: 'pause' | 'rollback',
) {
  const policyPath = join(dir, `policy-${onFailure}.yaml`);
  writeFileSync(policyPath, policyYaml(prom.url, onFailure, onFailure));
  const state = join(dir, `${onFailure}.db`);
  const apply = await spawnCli(sandbox.kubeconfigPath, [
    'apply',
    '--to',
    TARGET,
    '--policy',
    policyPath,
    '--yes',
    '--state',
    state,
    '-o',
    'json',
  ]).exited;
  const events = jsonEvents(apply.out);
  const runId = events.find((e) => e.type === 'run-started')?.runId as string;
  if (!runId) throw new Error(`apply started no run:\n${apply.out}`);
  const status = await spawnCli(sandbox.kubeconfigPath, ['status', runId, '--state', state, '-o', 'json'])
    .exited;
  if (status.code !== 0) throw new Error(`status ${runId} failed:\n${status.out}`);
  return {
    apply,
    events,
    status: JSON.parse(status.out) as Record<string, unknown> & { gates: GateStatus[] },
    nodes: await nodesOf(sandbox.kubeConfig()),
    violations: await violations(sandbox.kubeConfig()),
  };
}

describe.skipIf(!requireBinary('prometheus'))('a prometheus-gated apply on the regression scenario', () => {
  let dir: string;
  const sandboxes: SandboxProcess[] = [];
  let prom: RunningPrometheus | undefined;
  /** Each case's apply, run side by side (the machine waits on the clusters' clocks, not on its CPU). */
  const outcomes: Partial<Record<'pause' | 'rollback', Promise<Outcome>>> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-gated-apply-'));
    const cases = ['pause', 'rollback'] as const;
    sandboxes.push(
      ...(await Promise.all(
        cases.map((c) =>
          startSandboxProcess({ scenario: 'regression', timeScale: TIME_SCALE, dir, name: c }),
        ),
      )),
    );
    prom = await startPrometheus({
      targets: cases.map((c, i) => scrapeTargetOf(sandboxes[i]!.kubeConfig(), c)),
    });
    await prom.waitForTargetsUp();
    // A few scrapes of traffic, so that the rate() of every gate's window has samples to compare.
    await prom.waitFor('min(count_over_time(up[1m]))', (s) => (s[0]?.value ?? 0) >= 5);
    cases.forEach((c, i) => {
      outcomes[c] = gatedApply(sandboxes[i]!, prom!, dir, c);
      // Awaited by its test; a failure before then is not an unhandled rejection.
      outcomes[c].catch(() => {});
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(Object.values(outcomes));
    await prom?.stop();
    await Promise.all(sandboxes.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the M5 gate fails once upgraded nodes serve the storefront, and the run pauses (exit 3)', async () => {
    const { apply, status, nodes, violations } = await outcomes.pause!;

    expect(apply.code, apply.out).toBe(3);
    expect(status).toMatchObject({ state: 'paused', mode: 'upgrade' });
    expect(status.reason).toMatch(/^health gate M5-storefront: 1 failed measurement \(failureLimit 0\)/);
    const m5 = status.gates.find((g) => g.gate === 'M5-storefront')!;
    expect(m5).toMatchObject({ verdict: 'failure' });
    expect(m5.query).toContain(
      'http_requests_total{code=~"5..",service="storefront",namespace="shop",job="pause"}',
    );
    // The scenario's storefront answers 0.1 % 5xx before the upgrade; the failing value is 2x that or more.
    expect(m5.baseline).toBeGreaterThan(0);
    expect(m5.baseline).toBeLessThan(0.002);
    expect(m5.value).toBeGreaterThanOrEqual(Math.max(2 * m5.baseline!, 0.001));
    expect(status.gates.find((g) => g.gate === 'M1')).toMatchObject({ verdict: 'success', value: 1 });
    expect(status.gates.find((g) => g.gate === 'M2')).toMatchObject({ verdict: 'success', value: 1 });

    // The nodes in flight finished; none stays cordoned, and no budget was broken.
    expect(nodes.filter((n) => n.unschedulable)).toEqual([]);
    expect(violations).toEqual([]);
    const workers = nodes.filter((n) => n.name.startsWith('general-'));
    expect(workers.some((n) => n.version === TARGET)).toBe(true);
  }, 300_000);

  it('with onFailure: rollback, the wave the gate stopped is rolled back to v1.31.4 (exit 1)', async () => {
    const { apply, events, status, nodes, violations } = await outcomes.rollback!;

    expect(apply.code, apply.out).toBe(1);
    expect(status).toMatchObject({ state: 'rolled-back', mode: 'rollback' });
    expect(status.reason).toMatch(/^health gate M5-storefront: 1 failed measurement/);
    const m5 = status.gates.find((g) => g.gate === 'M5-storefront')!;
    expect(m5).toMatchObject({ verdict: 'failure' });
    expect(m5.value).toBeGreaterThanOrEqual(Math.max(2 * m5.baseline!, 0.001));

    // The wave's upgraded nodes are back at v1.31.4; only the canary's node, upgraded by an earlier step
    // (the storefront had no pod there: its drain moved it away), stays at v1.32.0, as the reason says.
    const summary = events.at(-1)!.summary as { nodes: { upgraded: string[]; rolledBack: string[] } };
    expect(status.rollbackScope).toEqual([expect.stringMatching(/node-wave|pool/)]);
    expect(summary.nodes.rolledBack.length).toBeGreaterThan(0);
    for (const node of summary.nodes.rolledBack)
      expect(nodes.find((n) => n.name === node)?.version, node).toBe(SOURCE);
    const workersAtTarget = nodes.filter((n) => n.name.startsWith('general-') && n.version === TARGET);
    expect(workersAtTarget).toHaveLength(1);
    expect(status.reason).toContain(
      `left at ${TARGET} (upgraded by earlier steps): ${workersAtTarget[0]!.name}`,
    );
    expect(nodes.filter((n) => n.unschedulable)).toEqual([]);
    expect(violations).toEqual([]);
  }, 300_000);
});
