/**
 * A run against a sandbox keeps the sandbox's time without being told to. The sandbox here starts its
 * scaled clock in 2030, so any time the run took from the wall clock (2026) stands out, however slow the
 * machine: the run's events, and the Lease it renews (created by the sandbox on its own clock).
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionSettings } from '../../src/cli/run-session.ts';
import { RealClock, ScaledClock } from '../../src/core/clock.ts';
import { renderPlanYaml } from '../../src/plan/index.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { planFor, TIME_SCALE, testPolicy, WORKERS_CLUSTER } from '../engine/engine-harness.ts';
import { runCli } from './run-cli.ts';

const SANDBOX_EPOCH = Date.UTC(2030, 0, 1);

describe('the sandbox clock, detected', () => {
  let sandbox: RunningSandbox;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox({
      scenario: parseScenario(WORKERS_CLUSTER, 'sandbox-clock.yaml'),
      clock: new ScaledClock(TIME_SCALE, SANDBOX_EPOCH),
    });
    dir = mkdtempSync(join(tmpdir(), 'midflight-clock-'));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is advertised by the sandbox', async () => {
    const clock = await sandbox.admin<{ now: string; nowMs: number; scale: number }>('/sandbox/v1/clock');
    expect(clock.scale).toBe(TIME_SCALE);
    expect(clock.nowMs).toBeGreaterThan(SANDBOX_EPOCH);
    expect(Date.parse(clock.now)).toBe(Math.floor(clock.nowMs / 1000) * 1000);
  });

  it('is kept by apply without --sandbox-clock: events and the Lease are on the sandbox time', async () => {
    const planPath = join(dir, 'plan.yaml');
    const policy = testPolicy({
      canary: { nodes: 1, soak: '10s' },
      timings: { waveSoak: '0s' },
      provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
    });
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, 'v1.31.2', policy)));
    const { code, stdout, stderr } = await runCli(
      '--kubeconfig',
      sandbox.kubeconfigPath,
      'apply',
      planPath,
      '--state',
      join(dir, 'state.db'),
      '-o',
      'json',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const times = stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { time: number }).time);
    expect(Math.min(...times)).toBeGreaterThan(SANDBOX_EPOCH);

    const lease = await sandbox
      .kubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'midflight-upgrade', namespace: 'kube-system' });
    const created = new Date(lease.metadata!.creationTimestamp!).getTime();
    const renewed = new Date(lease.spec!.renewTime!).getTime();
    expect(created).toBeGreaterThan(SANDBOX_EPOCH);
    expect(renewed).toBeGreaterThanOrEqual(created);
  }, 120_000);
});

describe('a cluster that is not a sandbox', () => {
  let server: Server;
  let kc: KubeConfig;

  beforeAll(async () => {
    // Answers every request as a Kubernetes API server answers a path it does not serve.
    server = createServer((_, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          // client-node refuses plain HTTP unless told that TLS is not verified anyway.
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps wall time', async () => {
    let asked = 0;
    server.on('request', () => asked++);
    const settings = await executionSettings({ leaseDuration: 30 }, kc);
    expect(settings.clock).toBeInstanceOf(RealClock);
    expect(settings.leaseDurationSeconds).toBe(30);
    expect(asked).toBe(1);
  });

  it('is refused with the deprecated --sandbox-clock, as before', async () => {
    await expect(executionSettings({ leaseDuration: 30, sandboxClock: true }, kc)).rejects.toThrow(
      /--sandbox-clock: the cluster is not a sandbox/,
    );
  });
});
