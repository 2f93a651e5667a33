/**
 * Golden plans: for every scenario, the plan file, the runbook and the table are compared byte for byte
 * with test/plan/golden/<name>.{plan.yaml,runbook.md,table.txt}. The snapshots they are planned from are
 * test/fixtures/snapshots/<name>.json: the hand-built SCENARIOS (written from their builders) and the
 * built-in sandbox scenarios SANDBOX_SCENARIOS (captured from the sandbox by
 * test/fixtures/snapshots/capture-sandbox-snapshots.ts).
 *
 * UPDATE_GOLDEN=1 rewrites the golden files and the hand-built snapshots instead of comparing; review the
 * diff before keeping it. Without it a missing golden or snapshot file fails: a deleted file must not pass.
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/plan/planner.test.ts
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/core/snapshot.ts';
import { parseVersion } from '../../src/core/versions.ts';
import { defaultPolicy, isNodeWave, policyFromYaml, validatePolicy } from '../../src/plan/index.ts';
import { PlanError, planUpgrade } from '../../src/plan/planner.ts';
import { renderRunbook } from '../../src/plan/render-markdown.ts';
import { renderPlanTable } from '../../src/plan/render-table.ts';
import { renderPlanYaml } from '../../src/plan/render-yaml.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';
import { SANDBOX_SCENARIOS, SCENARIOS } from '../fixtures/snapshots/scenarios.ts';

const update = process.env.UPDATE_GOLDEN === '1';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

function golden(path: string, actual: string): void {
  if (update) writeFileSync(path, actual);
  else if (!existsSync(path))
    throw new Error(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function policyOf(yaml: string) {
  const result = policyFromYaml(yaml, 'scenario');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

interface GoldenCase {
  name: string;
  target: string;
  policy: string;
  snapshot: () => ClusterSnapshot;
}

/** The snapshot file of a scenario; hand-built ones are (re)written from `build` under UPDATE_GOLDEN=1. */
function snapshotFile(name: string, build?: () => ClusterSnapshot): () => ClusterSnapshot {
  const path = here(`../fixtures/snapshots/${name}.json`);
  return () => {
    if (update && build) writeFileSync(path, `${JSON.stringify(build(), null, 2)}\n`);
    if (!existsSync(path)) {
      throw new Error(
        build
          ? `snapshot ${path} is missing: run with UPDATE_GOLDEN=1 to write it from its builder`
          : `snapshot ${path} is missing: run npx tsx test/fixtures/snapshots/capture-sandbox-snapshots.ts ${name}`,
      );
    }
    return JSON.parse(readFileSync(path, 'utf8')) as ClusterSnapshot;
  };
}

const CASES: GoldenCase[] = [
  ...SCENARIOS.map((s) => ({ ...s, snapshot: snapshotFile(s.snapshotOf ?? s.name, s.snapshot) })),
  ...SANDBOX_SCENARIOS.map((s) => ({ ...s, snapshot: snapshotFile(s.name) })),
];

describe.each(CASES)('scenario $name', (scenario) => {
  let loaded: ClusterSnapshot | undefined;
  const snapshot = () => {
    loaded ??= scenario.snapshot();
    return loaded;
  };
  const plan = () => planUpgrade(snapshot(), parseVersion(scenario.target), policyOf(scenario.policy));

  it('matches the golden plan file', () =>
    golden(here(`golden/${scenario.name}.plan.yaml`), renderPlanYaml(plan())));
  it('matches the golden runbook', () =>
    golden(here(`golden/${scenario.name}.runbook.md`), renderRunbook(plan())));
  it('matches the golden table', () =>
    golden(here(`golden/${scenario.name}.table.txt`), renderPlanTable(plan())));
  it('is deterministic (same inputs, same id)', () => {
    const first = plan();
    const again = planUpgrade(
      JSON.parse(JSON.stringify(snapshot())),
      parseVersion(scenario.target),
      policyOf(scenario.policy),
    );
    expect(again.id).toBe(first.id);
    expect(first.id).toMatch(/^plan-[0-9a-f]{12}$/);
  });
  it('never plans faster than its lower bound', () => {
    const { estimate } = plan();
    expect(estimate.nodePhaseSeconds).toBeGreaterThanOrEqual(estimate.nodePhaseLowerBoundSeconds);
  });
});

describe('planUpgrade', () => {
  const small = SCENARIOS[0]!;
  const plan = planUpgrade(small.snapshot(), parseVersion(small.target), policyOf(small.policy));

  it('orders the phases', () => {
    expect(plan.phases.map((p) => p.kind)).toEqual([
      'preflight',
      'etcd-backup',
      'control-plane',
      'canary',
      'node-pool',
      'node-pool',
      'addons',
      'validation',
    ]);
  });

  // After a run stopped past the control plane, the control plane is at the target and only the add-ons lag.
  it.each([
    ['kube-proxy and CoreDNS behind', 'v1.30.6', 'v1.11.1', ['kube-proxy', 'CoreDNS']],
    ['only CoreDNS behind', 'v1.31.2', 'v1.11.1', ['CoreDNS']],
    ['both at their versions', 'v1.31.2', 'v1.11.3', []],
    ['CoreDNS newer than kubeadm pins: left alone', 'v1.31.2', 'v1.12.0', []],
  ])('plans the add-ons from their own versions: %s', (_, proxy, coredns, moved) => {
    const snapshot = new ClusterBuilder('v1.31.2', 'https://stopped.example:6443')
      .controlPlane('cp-1')
      .node('w-1')
      .daemonSet('kube-system', 'kube-proxy', ['cp-1', 'w-1'], `registry.k8s.io/kube-proxy:${proxy}`)
      .workload('kube-system', 'coredns', {
        replicas: 1,
        on: ['w-1'],
        image: `registry.k8s.io/coredns/coredns:${coredns}`,
      })
      .build();
    const stopped = planUpgrade(snapshot, parseVersion('v1.31.2'), defaultPolicy());
    const addons = stopped.phases.find((p) => p.kind === 'addons');
    if (moved.length === 0) expect(addons).toBeUndefined();
    else expect(addons?.steps[0]?.title).toBe(`Upgrade ${moved.join(' and ')} for v1.31.2`);
  });

  // kube-proxy replaces maxUnavailable nodes' pods at a time, each a pod start-up (30 s by default).
  it.each<[string, number, number | string | undefined, number, RegExp | undefined]>([
    ['a few nodes: the policy timing', 6, undefined, 300, undefined],
    [
      '200 nodes one at a time: hours, with a warning',
      200,
      undefined,
      6000,
      /kube-proxy rolls out 1 node\(s\) at a time \(its updateStrategy's maxUnavailable\): on 200 nodes, about 1h40m at 30s a pod; raise maxUnavailable/,
    ],
    ['200 nodes, 10 % at a time', 200, '10%', 300, undefined],
    ['200 nodes, 3 at a time', 200, 3, 67 * 30, undefined],
  ])('estimates the add-ons from kube-proxy’s rollout: %s', (_, count, maxUnavailable, estimate, warning) => {
    const builder = new ClusterBuilder('v1.31.2', 'https://many.example:6443').controlPlane('cp-1');
    const workers = Array.from({ length: count - 1 }, (_, i) => `w-${i + 1}`);
    for (const w of workers) builder.node(w);
    const snapshot = builder
      .daemonSet(
        'kube-system',
        'kube-proxy',
        ['cp-1', ...workers],
        'registry.k8s.io/kube-proxy:v1.30.6',
        maxUnavailable,
      )
      .build();
    const plan = planUpgrade(snapshot, parseVersion('v1.31.2'), defaultPolicy());
    const addons = plan.phases.find((p) => p.kind === 'addons');
    expect(addons?.steps[0]?.estimateSeconds).toBe(estimate);
    const warned = plan.warnings.filter((w) => w.startsWith('kube-proxy rolls out'));
    if (warning) expect(warned).toEqual([expect.stringMatching(warning)]);
    else expect(warned).toEqual([]);
  });

  const managed = () =>
    new ClusterBuilder('v1.30.4', 'https://eks.example:443').node('w-1').node('w-2').build();
  it.each<
    [string, () => ClusterSnapshot, Record<string, unknown>, Record<string, unknown>, string, string[]]
  >([
    [
      'stacked etcd, no hook: Midflight saves and verifies a snapshot itself',
      () => small.snapshot(),
      {},
      {},
      'Back up etcd: save, verify a snapshot',
      [
        'the snapshot is saved whole from a healthy member, atomically, with its metadata, in ~/.midflight/etcd-backups',
        'it verifies: its own integrity hash, its database pages, its metadata (midflight backup verify)',
      ],
    ],
    [
      'etcdBackup.drill adds the restore drill, and etcdBackup.dir says where',
      () => small.snapshot(),
      {},
      { drill: true, dir: '/var/backups/etcd' },
      'Back up etcd: save, verify and drill a snapshot',
      [
        'the snapshot is saved whole from a healthy member, atomically, with its metadata, in /var/backups/etcd',
        'it verifies: its own integrity hash, its database pages, its metadata (midflight backup verify)',
        'it restores into a scratch etcd and reads back (midflight backup drill)',
      ],
    ],
    [
      'with hooks.backup, names the hook and its exit status as the check',
      () => small.snapshot(),
      { backup: './backup.sh {runId}' },
      {},
      'Back up etcd with hooks.backup (./backup.sh {runId})',
      ['hooks.backup exits 0: it takes the snapshot and verifies it (e.g. etcdutl snapshot status)'],
    ],
    [
      'managed control plane, no hook: says plainly that none is taken, and warns',
      managed,
      {},
      {},
      'No etcd backup: the provider manages etcd and hooks.backup is not set',
      [],
    ],
    [
      'managed control plane with etcdBackup.endpoints: Midflight takes it from there',
      managed,
      {},
      { endpoints: ['https://10.0.0.5:2379'] },
      'Back up etcd: save, verify a snapshot',
      [
        'the snapshot is saved whole from a healthy member, atomically, with its metadata, in ~/.midflight/etcd-backups',
        'it verifies: its own integrity hash, its database pages, its metadata (midflight backup verify)',
      ],
    ],
  ])('etcd backup step: %s', (_, snapshot, hooks, etcdBackup, title, checks) => {
    const base = policyOf(small.policy);
    const policy = { ...base, hooks, etcdBackup: { ...base.etcdBackup, ...etcdBackup } };
    const p = planUpgrade(snapshot(), parseVersion('v1.31.2'), policy);
    const backup = p.phases.find((x) => x.kind === 'etcd-backup')!.steps[0]!;
    expect(backup.title).toBe(title);
    expect(backup.checks).toEqual(checks);
    expect(p.warnings.some((w) => w.startsWith('no etcd backup will be taken'))).toBe(checks.length === 0);
  });

  it.each([
    [true, ['node cp-1 is uncordoned'], /cordoned and drained first/],
    [false, [], /not drained: drain.controlPlane is false/],
  ])('drain.controlPlane %s shapes the control-plane step', (drain, extra, reason) => {
    const policy = policyOf(small.policy);
    policy.drain.controlPlane = drain;
    const p = planUpgrade(small.snapshot(), parseVersion(small.target), policy);
    const cp = p.phases.find((x) => x.kind === 'control-plane')!.steps[0]!;
    expect(cp.checks).toEqual([
      'kube-apiserver, kube-controller-manager and kube-scheduler on cp-1 run v1.31.14 and are Ready',
      'node cp-1 is Ready with kubelet v1.31.14',
      'etcd on cp-1 is a healthy member and the cluster has quorum',
      ...extra,
    ]);
    expect(cp.reasons.join('\n')).toMatch(reason);
  });

  it.each([
    ['preferUpgradedNodes: true', true, true],
    ['preferUpgradedNodes: false', false, false],
    ['no preferUpgradedNodes (the default)', undefined, true],
  ])('drain %s: the runbook says whether nodes still to drain are tainted', (_, prefer, tainted) => {
    const policy = policyOf(small.policy);
    if (prefer === undefined) delete policy.drain.preferUpgradedNodes;
    else policy.drain.preferUpgradedNodes = prefer;
    const p = planUpgrade(small.snapshot(), parseVersion(small.target), policy);
    expect(renderRunbook(p).includes('upgrade.midflight.dev/upgrade-pending=RUN:PreferNoSchedule')).toBe(
      tainted,
    );
    // Note: only an explicit setting is in the plan, so plans written before it keep their id.
    expect('preferUpgradedNodes' in p.policy.drain).toBe(prefer !== undefined);
  });

  it('refuses a drain.preferUpgradedNodes that is not a bool, naming the field', () => {
    const result = validatePolicy({ drain: { preferUpgradedNodes: 'yes' } }, 'policy.yaml');
    expect(result.ok).toBe(false);
    expect(JSON.stringify(!result.ok && result.errors)).toContain('drain.preferUpgradedNodes');
  });

  it('carries what apply needs to refuse a wrong plan', () => {
    expect(plan).toMatchObject({
      schemaVersion: 'midflight.dev/plan/v1',
      cluster: { server: 'https://small.example:6443', fingerprint: 'kube-system-uid-test' },
      source: 'v1.30.4',
      target: 'v1.31.14',
      hops: ['v1.31.14'],
    });
  });

  it('lets the workers flow at most maxUnavailable at a time, in waves that cover every worker once', () => {
    const workers = plan.phases.filter((p) => p.pool === 'workers').flatMap((p) => p.steps);
    const nodes = workers.flatMap((s) => s.nodes);
    expect(new Set(nodes).size).toBe(nodes.length);
    for (const s of workers) {
      expect(isNodeWave(s)).toBe(true);
      if (isNodeWave(s)) expect(s.maxInFlight).toBeLessThanOrEqual(2);
    }
  });

  it('steps a multi-minor upgrade one minor at a time, moving lagging kubelets first', () => {
    const ha = SCENARIOS[1]!;
    const p = planUpgrade(ha.snapshot(), parseVersion(ha.target), policyOf(ha.policy));
    expect(p.hops).toEqual(['v1.30.14', 'v1.31.14', 'v1.32.11']);
    const order = p.phases.map((ph) => `${ph.kind}@${ph.version ?? ''}`);
    expect(order).toEqual([
      'preflight@',
      'etcd-backup@',
      'control-plane@v1.30.14',
      'control-plane@v1.31.14',
      'node-pool@v1.31.14',
      'control-plane@v1.32.11',
      'node-pool@v1.32.11',
      'addons@',
      'validation@',
    ]);
    expect(p.phases[2]!.steps.map((s) => s.nodes)).toEqual([['cp-1'], ['cp-2'], ['cp-3']]);
    expect(p.warnings.some((w) => /cannot be drained without breaking payments\/ledger/.test(w))).toBe(true);
  });

  it('refuses downgrades', () => {
    expect(() => planUpgrade(small.snapshot(), parseVersion('v1.29.0'), defaultPolicy())).toThrow(PlanError);
  });

  it('skips nodes already at the target', () => {
    const snapshot = new ClusterBuilder('v1.31.2')
      .controlPlane('cp-1')
      .node('a', { kubelet: 'v1.31.2' })
      .node('b', { kubelet: 'v1.30.1' })
      .build();
    const p = planUpgrade(snapshot, parseVersion('v1.31.2'), defaultPolicy());
    expect(p.hops).toEqual([]);
    expect(
      p.phases
        .flatMap((ph) => ph.steps)
        .flatMap((s) => (s.kind === 'canary' || s.kind === 'node-wave' ? s.nodes : [])),
    ).toEqual(['b']);
  });

  it('warns when the canary pool matches no pool: the plan then has no canary', () => {
    const snapshot = new ClusterBuilder('v1.31.2')
      .controlPlane('cp-1')
      .node('a', { kubelet: 'v1.30.1' })
      .build();
    const p = planUpgrade(snapshot, parseVersion('v1.31.2'), policyOf('canary: { pool: canaries }\n'));
    expect(p.phases.some((ph) => ph.kind === 'canary')).toBe(false);
    expect(p.warnings).toContainEqual(expect.stringMatching(/^canary.pool canaries matches no worker pool/));
  });
});

describe('planUpgrade: node waves', () => {
  /**
   * cp-1 at v1.31.2 and `workers` worker nodes of pool "workers" with kubelet v1.30.1, each with a small pod
   * of app "web" (a budget allowing 1 when `budget` is set): only the nodes move, so the node phase is all.
   */
  function cluster(workers: number, budget = false): ClusterSnapshot {
    const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
    const names = Array.from({ length: workers }, (_, i) => `w-${String(i + 1).padStart(2, '0')}`);
    for (const n of names) b.node(n, { pool: 'workers', kubelet: 'v1.30.1' });
    b.workload('shop', 'web', { replicas: workers, on: names, cpu: '100m' });
    if (budget) b.pdb('shop', 'web', 'web', { maxUnavailable: 1 }, { disruptionsAllowed: 1 });
    return b.build();
  }

  // A node cycle of 60 s + 120 s (120 s at its fastest: the upgrade alone, for the bound); a 30 s soak after
  // each wave.
  const timings = 'timings: {nodeDrain: 1m, nodeUpgrade: 2m, podStartup: 10s, waveSoak: 30s}';
  const planOf = (snapshot: ClusterSnapshot, yaml: string) =>
    planUpgrade(snapshot, parseVersion('v1.31.2'), policyOf(`canary: {nodes: 0}\n${timings}\n${yaml}`));
  const wavesOf = (p: ReturnType<typeof planOf>) =>
    p.phases.filter((ph) => ph.kind === 'node-pool').flatMap((ph) => ph.steps.filter(isNodeWave));

  it.each([
    ['one wave by default (100%)', 'defaults: {maxUnavailable: 3}', [10], [3], 30],
    ['a count', 'defaults: {maxUnavailable: 3, waveSize: 4}', [4, 4, 2], [3, 3, 2], 30],
    [
      'a percent, rounded up (25% of 10 → 3)',
      'defaults: {maxUnavailable: 3, waveSize: "25%"}',
      [3, 3, 3, 1],
      [3, 3, 3, 1],
      30,
    ],
    [
      'a percent below one node is one node',
      'defaults: {maxUnavailable: 2, waveSize: "1%"}',
      Array(10).fill(1),
      Array(10).fill(1),
      30,
    ],
    [
      'one node per wave',
      'defaults: {maxUnavailable: 1, waveSize: 1}',
      Array(10).fill(1),
      Array(10).fill(1),
      30,
    ],
    [
      "the pool's own waveSize and waveSoak",
      'defaults: {maxUnavailable: 3, waveSize: 2}\npools: [{name: workers, waveSize: "50%", waveSoak: 2m}]',
      [5, 5],
      [3, 3],
      120,
    ],
  ])('splits a pool into waves: %s', (_name, yaml, sizes, inFlight, soak) => {
    const p = planOf(cluster(10), yaml);
    const waves = wavesOf(p);
    expect(waves.map((w) => w.nodes.length)).toEqual(sizes);
    expect(waves.map((w) => w.maxInFlight)).toEqual(inFlight);
    expect(new Set(waves.flatMap((w) => w.nodes)).size).toBe(10);
    const cycle = 180;
    for (const w of waves) {
      expect(w.soakSeconds).toBe(soak);
      // The cycles it takes with maxInFlight out at once, then the soak.
      expect(w.estimateSeconds).toBe(Math.ceil(w.nodes.length / w.maxInFlight) * cycle + soak);
    }
    expect(p.estimate.nodeWaves).toBe(waves.length);
    expect(p.estimate.nodePhaseSeconds).toBe(waves.reduce((s, w) => s + w.estimateSeconds, 0));
    // The physical bound over the whole pool (ceil(10 / limit) fastest cycles) plus every wave's soak.
    const limit = Number(/maxUnavailable: (\d+)/.exec(yaml)![1]);
    expect(p.estimate.nodePhaseLowerBoundSeconds).toBe(Math.ceil(10 / limit) * 120 + waves.length * soak);
    expect(p.estimate.nodePhaseSeconds).toBeGreaterThanOrEqual(p.estimate.nodePhaseLowerBoundSeconds);
  });

  it('puts the physical bound and what sets it in the estimate', () => {
    const p = planOf(cluster(10), 'defaults: {maxUnavailable: 3, waveSize: 4}');
    // 4 rounds of 3 nodes, each out for its upgrade at least (120 s; the 60 s drain estimate is not a minimum).
    expect(p.estimate.lowerBound).toEqual({
      seconds: 480,
      pools: [
        {
          pool: 'workers',
          nodes: 10,
          maxInFlight: 3,
          inFlightSeconds: 480,
          limitedBy: 'in-flight',
          budgetAllowsNone: false,
          seconds: 480,
        },
      ],
    });
    expect(p.estimate.nodePhaseLowerBoundSeconds).toBe(480 + 3 * 30);
    expect(p.estimate.nodePhaseSeconds).toBe(390 + 390 + 210);
  });

  it.each([
    // A node cannot go down before its pods have stopped: the fastest drain measured joins each cycle.
    ['an earlier run measured a 15 s drain at its fastest', 15, 4 * (15 + 120)],
    // No more than the policy's drain (60 s), as for the upgrade: a rehearsal's pods stop in it.
    ['a measured drain above the policy’s counts the policy’s', 90, 4 * (60 + 120)],
    // The policy's 60 s drain is an estimate, not a floor: unmeasured, a drain counts 0.
    ['no measured drain', undefined, 4 * 120],
  ])('counts the fastest drain in the bound’s node cycle: %s', (_name, fastestDrainSeconds, bound) => {
    const measured = {
      runs: 1,
      pools: {
        workers: {
          nodes: 10,
          runs: 1,
          fastestUpgradeSeconds: 120,
          fastestReadySeconds: 0,
          ...(fastestDrainSeconds === undefined ? {} : { fastestDrainSeconds }),
        },
      },
    };
    const p = planUpgrade(
      cluster(10),
      parseVersion('v1.31.2'),
      policyOf(`canary: {nodes: 0}\n${timings}\ndefaults: {maxUnavailable: 3}`),
      { measured },
    );
    expect(p.estimate.lowerBound.seconds).toBe(bound);
    expect(p.estimate.nodePhaseSeconds).toBeGreaterThanOrEqual(p.estimate.nodePhaseLowerBoundSeconds);
  });

  it('never estimates the node phase below its bound when a budget sets the bound', () => {
    // web allows 1 and its 10 pods start in 2 min each: the last is evicted 9 × 120 s after the first, and its
    // node still needs its upgrade (120 s): 1,200 s, while the node cycles take at least 4 × 120 = 480 s.
    const p = planUpgrade(
      cluster(10, true),
      parseVersion('v1.31.2'),
      policyOf(
        `canary: {nodes: 0}\ndefaults: {maxUnavailable: 3, waveSize: 4}\ntimings: {nodeDrain: 1m, nodeUpgrade: 2m, podStartup: 2m, waveSoak: 30s}\n`,
      ),
    );
    expect(p.estimate.lowerBound.pools[0]).toMatchObject({
      limitedBy: 'budget',
      seconds: 1200,
      tightestBudget: { budget: 'shop/web', pods: 10, allowed: 1, seconds: 1200 },
    });
    expect(p.estimate.nodePhaseLowerBoundSeconds).toBe(1200 + 3 * 30);
    // Each wave takes its budget's evictions (3, 3 and 1 × 120 s between its 4, 4 and 2 pods) and the last
    // one's node cycle (180 s) where those outlast its node cycles (2, 2 and 1 × 180 s), then its soak.
    expect(wavesOf(p).map((w) => w.estimateSeconds)).toEqual([540 + 30, 540 + 30, 300 + 30]);
    expect(p.estimate.nodePhaseSeconds).toBeGreaterThanOrEqual(p.estimate.nodePhaseLowerBoundSeconds);
  });

  it('makes the canary one wave of its own, with the canary soak, and bounds it as a pool of its own', () => {
    const p = planUpgrade(
      cluster(10),
      parseVersion('v1.31.2'),
      policyOf(`canary: {nodes: 2, soak: 5m}\ndefaults: {maxUnavailable: 3, waveSize: 4}\n${timings}\n`),
    );
    const canary = p.phases.filter((ph) => ph.kind === 'canary').flatMap((ph) => ph.steps.filter(isNodeWave));
    expect(canary.map((w) => [w.nodes.length, w.maxInFlight, w.soakSeconds, w.estimateSeconds])).toEqual([
      [2, 2, 300, 180 + 300],
    ]);
    expect(wavesOf(p).map((w) => w.nodes.length)).toEqual([4, 4]);
    expect(p.estimate.lowerBound.pools.map((b) => [b.pool, b.nodes, b.seconds])).toEqual([
      ['workers (canary)', 2, 120],
      ['workers', 8, 3 * 120],
    ]);
    expect(p.estimate.nodePhaseLowerBoundSeconds).toBe(120 + 360 + 300 + 2 * 30);
    expect(p.estimate.nodeWaves).toBe(3);
  });

  it('says how much the pods lack when the capacity holds a wave below maxUnavailable', () => {
    // Four 4 CPU nodes, each with a 1.5 CPU pod: two out need 3 CPU of the other two's 5 free, three out
    // 4.5 CPU of 2.5: the flow is held to 2 of the 4 maxUnavailable allows; with 4 out, 6 CPU is missing.
    const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
    const names = ['w-01', 'w-02', 'w-03', 'w-04'];
    for (const n of names) b.node(n, { pool: 'workers', kubelet: 'v1.30.1', cpu: '4' });
    for (const n of names) b.workload('shop', `app-${n}`, { replicas: 1, on: [n], cpu: '1500m' });
    const p = planOf(b.build(), 'defaults: {maxUnavailable: 4}');
    const [wave] = wavesOf(p);
    expect(wave).toMatchObject({
      maxInFlight: 2,
      capacityHold: { allowed: 4, short: { cpuMillis: 6000, pods: 4 } },
    });
    expect(wave!.reasons[0]).toMatch(/fewer for capacity: with 4 out, their pods would lack 6 CPU/);
    expect(p.estimate.lowerBound.pools[0]).toMatchObject({ maxInFlight: 2, limitedBy: 'capacity' });
    // Nothing held: no capacityHold.
    expect(wavesOf(planOf(b.build(), 'defaults: {maxUnavailable: 2}'))[0]!.capacityHold).toBeUndefined();
  });

  it('counts a blue-green pool’s green boot once, and each blue node as its drain', () => {
    // The green pool (4 new nodes at once) boots in 2 min before the first drain; then 4 drains of 1 min, 2 at
    // a time. The bound: the boot, then drains that can end as soon as their pods exit.
    const p = planOf(
      cluster(4),
      'defaults: {maxUnavailable: 2, strategy: blue-green}\nnodeProvider: {kind: sandbox}',
    );
    const [wave] = wavesOf(p);
    expect(wave!.estimateSeconds - wave!.soakSeconds! - wave!.replacement!.finalSoakSeconds!).toBe(
      120 + 2 * 60,
    );
    expect(p.estimate.lowerBound.pools[0]).toMatchObject({
      setupSeconds: 120,
      inFlightSeconds: 0,
      seconds: 120,
    });
    expect(p.estimate.nodePhaseLowerBoundSeconds).toBe(
      120 + wave!.soakSeconds! + wave!.replacement!.finalSoakSeconds!,
    );
  });

  it('counts one upgrade per minor a node is behind: its cycle, the wave estimate and the bound', () => {
    // w-01 is two minors behind (v1.29 → v1.30 → v1.31), w-02 one: cycles of 60 + 2 × 120 s and 60 + 120 s,
    // at their fastest (the upgrades alone) 240 s and 120 s.
    const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
    b.node('w-01', { pool: 'workers', kubelet: 'v1.29.9' });
    b.node('w-02', { pool: 'workers', kubelet: 'v1.30.1' });
    const one = planOf(b.build(), 'defaults: {maxUnavailable: 1}');
    // One at a time: the two cycles one after the other.
    expect(wavesOf(one).map((w) => w.estimateSeconds)).toEqual([300 + 180 + 30]);
    expect(one.estimate.lowerBound.pools[0]).toMatchObject({ inFlightSeconds: 360 });
    const two = planOf(b.build(), 'defaults: {maxUnavailable: 2}');
    // Two at a time: no shorter than the longer cycle (half of the 360 s of cycles is less).
    expect(two.estimate.lowerBound.pools[0]).toMatchObject({ inFlightSeconds: 240 });
  });
});
