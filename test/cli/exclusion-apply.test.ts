/**
 * `midflight apply` inside one of the policy's exclusions refuses to start: one line naming the freeze,
 * exit code 1 (as for a cluster held by another run), and nothing changed: no run recorded, no Lease
 * taken, no node touched. The sandbox's clock starts inside the freeze (the run keeps the sandbox's time).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/core/clock.ts';
import { renderPlanYaml } from '../../src/plan/index.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { RunStore } from '../../src/store/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { nodes, planFor, TIME_SCALE, testPolicy, WORKERS_CLUSTER } from '../engine/engine-harness.ts';
import { runCli } from './run-cli.ts';

describe('apply inside an exclusion', () => {
  let sandbox: RunningSandbox;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox({
      scenario: parseScenario(WORKERS_CLUSTER, 'exclusion.yaml'),
      clock: new ScaledClock(TIME_SCALE, Date.UTC(2026, 11, 24, 12)),
    });
    dir = mkdtempSync(join(tmpdir(), 'midflight-exclusion-'));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused with the freeze named, exit code 1, and nothing changed', async () => {
    const planPath = join(dir, 'plan.yaml');
    const statePath = join(dir, 'state.db');
    const policy = testPolicy({
      canary: { nodes: 0 },
      provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
      exclusions: [
        { start: '2026-12-20', end: '2027-01-04', timeZone: 'Europe/Paris', reason: 'year-end freeze' },
      ],
    });
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, 'v1.31.2', policy)));
    const before = await nodes(sandbox);

    const { code, stdout, stderr } = await runCli(
      '--kubeconfig',
      sandbox.kubeconfigPath,
      'apply',
      planPath,
      '--state',
      statePath,
    );
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `error: refusing to start the run inside the policy's exclusion "year-end freeze" ` +
        '(from 2026-12-20 00:00 Europe/Paris (2026-12-19 23:00Z) until 2027-01-05 00:00 Europe/Paris ' +
        '(2027-01-04 23:00Z)); try again after it ends',
    );
    expect(stdout).not.toContain('phase');

    const store = RunStore.open(statePath);
    try {
      expect(store.listRuns()).toEqual([]);
    } finally {
      store.close();
    }
    const leases = await sandbox
      .kubeConfig()
      .makeApiClient(CoordinationV1Api)
      .listNamespacedLease({ namespace: 'kube-system' });
    expect(leases.items.map((l) => l.metadata?.name)).not.toContain('midflight-upgrade');
    expect(await nodes(sandbox)).toEqual(before);
  }, 120_000);
});
