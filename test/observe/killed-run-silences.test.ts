/**
 * The silences of a killed `midflight apply` (kill -9, as the issue says): the process dies while a node
 * is silenced, so nothing of its own expires them; `midflight resume` expires them first, silences the
 * nodes it takes up again, and leaves none in force when the run ends. The real CLI, the real Alertmanager,
 * the sandbox over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient, type GettableSilence } from '../../src/observe/index.ts';
import { renderPlanYaml } from '../../src/plan/index.ts';
import { jsonEvents, resumeWhenLeaseFree, spawnCli } from '../cli/run-cli.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  expectUpgraded,
  planFor,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from '../engine/engine-harness.ts';
import { alertmanagerMissing, type RunningAlertmanager, startAlertmanager } from './alertmanager.ts';

const BIN = join(import.meta.dirname, '../../bin/midflight.js');
const TARGET = 'v1.31.2';
// Locally a missing binary skips this file with a message; with CI set this throws (the file fails).
const missing = alertmanagerMissing();

describe.skipIf(missing !== undefined)('silences of a killed apply', () => {
  let am: RunningAlertmanager;
  let sandbox: RunningSandbox;
  let dir: string;
  beforeAll(async () => {
    am = await startAlertmanager();
    sandbox = await startCluster(WORKERS_CLUSTER);
    dir = mkdtempSync(join(tmpdir(), 'midflight-killed-silences-'));
  });
  afterAll(async () => {
    await sandbox?.stop();
    await am?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are expired by the resume, which leaves none in force', async () => {
    const client = new AlertmanagerClient({ url: am.url, timeoutMs: 10_000 });
    const ofRun = async (runId: string): Promise<GettableSilence[]> =>
      (await client.listSilences()).filter((s) => s.comment.startsWith(`midflight run ${runId},`));
    const policy = testPolicy({
      alerts: { alertmanager: { url: am.url } },
      provider: {
        kind: 'command',
        command: `${process.execPath} ${BIN} --kubeconfig {kubeconfig} sandbox upgrade-node {node} --to {version}`,
        timeout: '5m',
      },
    });
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, TARGET, policy)));
    const state = join(dir, 'state.db');
    const args = ['--state', state, '--lease-duration', '2'];

    // kill -9 once the first node is being upgraded: its silences were made before its cordon.
    const apply = await spawnCli(sandbox.kubeconfigPath, ['apply', planPath, ...args, '-o', 'json'], {
      killWhen: (out) => out.includes('"activity":"upgrade"'),
    }).exited;
    expect(apply.killed).toBe(true);
    const runId = jsonEvents(apply.out)[0]!.runId as string;
    const leftovers = (await ofRun(runId)).filter((s) => s.status.state === 'active');
    expect(leftovers).toHaveLength(2);

    const resumed = await resumeWhenLeaseFree(sandbox.kubeconfigPath, runId, args);
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toContain('expired 2 Alertmanager silence(s) an earlier process of this run left');
    const after = await ofRun(runId);
    for (const old of leftovers) expect(after.find((s) => s.id === old.id)?.status.state).toBe('expired');
    expect(after.filter((s) => s.status.state !== 'expired')).toEqual([]);
    // Every worker was silenced in its turn (two sets each), the killed one twice.
    expect(after).toHaveLength(2 * 3 + 2);
    await expectUpgraded(sandbox, TARGET);
    // Note: two CLI processes each start tsx and upgrade nodes through a command; about 40 s on a shared
    // machine, so the bound is generous.
  }, 180_000);
});
