/**
 * Loud otherwise: the run's notifications, received by a local HTTP server standing in for Slack and a
 * generic webhook. A run that pauses, resumes and is rolled back sends start, pause, end and rollback
 * notices with the right payloads; a gate's failure is sent once per failing streak; a webhook that
 * fails is a warning; no webhook URL (a secret) appears in any output of the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/core/clock.ts';
import { requestPause, resumeRun, rollbackRun, startRun } from '../../src/engine/index.ts';
import { observeRun } from '../../src/observe/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import type { UpgradeContext, UpgradeProvider } from '../../src/providers/index.ts';
import {
  FAST,
  harness,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from '../engine/engine-harness.ts';

interface Received {
  path: string;
  body: Record<string, unknown>;
}

// The secret parts of the URLs: none may show up in anything the run writes or says.
const SLACK_SECRET = 'T0AAA/B0BBB/slackSecret42';
const HOOK_SECRET = 'hookSecret77';

let server: Server;
let base: string;
const received: Received[] = [];
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => {
      data += d.toString();
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(data || '{}') as Record<string, unknown> });
      res.statusCode = req.url?.startsWith('/broken') ? 500 : 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  dir = mkdtempSync(join(tmpdir(), 'midflight-notify-'));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const slack = () => received.filter((r) => r.path.startsWith('/slack/'));
const hook = () => received.filter((r) => r.path.startsWith('/hook/'));

describe('notifications', () => {
  it('a run paused, resumed and rolled back sends each moment to Slack and to the webhook', async () => {
    received.length = 0;
    const env = 'MIDFLIGHT_TEST_SLACK_URL';
    process.env[env] = `${base}/slack/${SLACK_SECRET}`;
    const hookFile = join(dir, 'hook-url');
    writeFileSync(hookFile, `${base}/hook/${HOOK_SECRET}\n`);
    const brokenFile = join(dir, 'broken-url');
    writeFileSync(brokenFile, `${base}/broken/${HOOK_SECRET}`);

    const sandbox = await startCluster(WORKERS_CLUSTER);
    let pauseOnce = true;
    const provider: UpgradeProvider = {
      kind: 'sandbox-api',
      upgradeNode: (ctx: UpgradeContext) => {
        if (pauseOnce) requestPause(h.deps.store, ctx.runId);
        pauseOnce = false;
        return inner.upgradeNode(ctx);
      },
    };
    const inner = new SandboxApiProvider(sandbox);
    const h = harness(sandbox, provider);
    try {
      const policy = testPolicy({
        alerts: {
          notify: [
            { kind: 'slack', urlEnv: env },
            { kind: 'webhook', urlFile: hookFile },
            { kind: 'webhook', urlFile: brokenFile, on: ['finished'] },
          ],
        },
      });
      const plan = await planFor(sandbox, 'v1.31.2', policy);
      const paused = await startRun(h.deps, plan, FAST);
      expect(paused.state).toBe('paused');
      const done = await resumeRun(h.deps, paused.runId, FAST);
      expect(done.state).toBe('succeeded');
      const back = await rollbackRun(h.deps, paused.runId, FAST);
      expect(back.state).toBe('rolled-back');
      const runId = paused.runId;

      expect(hook().map((r) => [r.body.event, r.body.state ?? null])).toEqual([
        ['started', null],
        ['paused', 'paused'],
        ['started', null],
        ['finished', 'succeeded'],
        ['rollback', null],
        ['finished', 'rolled-back'],
      ]);
      const finished = hook()[3]!.body;
      expect(finished).toMatchObject({
        source: 'midflight',
        schemaVersion: 1,
        runId,
        planId: plan.id,
        from: plan.source,
        to: 'v1.31.2',
        cluster: plan.cluster.server,
        title: `upgrade run ${runId} succeeded on ${plan.cluster.server}`,
        details: { upgraded: 3, failed: 0 },
      });
      expect(String(finished.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(hook()[2]!.body.title).toContain(`upgrade run ${runId} resumed`);
      expect(hook()[4]!.body.title).toContain(`rollback of run ${runId} started`);

      // Slack gets the same moments as a message: text for the notification, blocks for the rest.
      expect(slack()).toHaveLength(6);
      const paused2 = slack()[1]!.body as { text: string; blocks: Array<Record<string, unknown>> };
      expect(paused2.text).toBe(
        `:double_vertical_bar: upgrade run ${runId} paused on ${plan.cluster.server}`,
      );
      expect(paused2.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
      expect(JSON.stringify(paused2.blocks[1])).toContain('*reason:* pause requested');
      expect(JSON.stringify(paused2.blocks[2])).toContain(`run \`${runId}\``);

      // The broken webhook got only what it asked for, and its failures are warnings without its URL.
      expect(received.filter((r) => r.path.startsWith('/broken/')).map((r) => r.body.state)).toEqual([
        'succeeded',
        'rolled-back',
      ]);
      // Note: the end's notices go out after the summary is made: their failures are in the run's log.
      expect(
        h.deps.store
          .logs(runId)
          .filter((l) => l.level === 'warn')
          .map((l) => l.message),
      ).toContain('notification (finished) to alerts.notify[2] (webhook) failed: HTTP 500');

      const output = JSON.stringify([h.events, h.deps.store.logs(runId), paused, done, back]);
      for (const secret of [SLACK_SECRET, HOOK_SECRET, 'slackSecret42']) expect(output).not.toContain(secret);
    } finally {
      delete process.env[env];
      h.cleanup();
      await sandbox.stop();
    }
  });

  it('a failing gate is sent once per failing streak; a missing secret is a warning, not a stop', async () => {
    received.length = 0;
    const policy = validatePolicy(
      {
        alerts: {
          notify: [
            { kind: 'webhook', urlEnv: 'MIDFLIGHT_TEST_HOOK_URL', on: ['gate-failed', 'rollback'] },
            { kind: 'slack', urlEnv: 'MIDFLIGHT_TEST_UNSET_VARIABLE' },
          ],
        },
      },
      'p.yaml',
    );
    if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
    const warnings: string[] = [];
    const observer = observeRun({
      alerts: policy.policy.alerts,
      runId: 'run-gates',
      plan: { id: 'plan-000000000000', source: 'v1.30.6', target: 'v1.31.2', cluster: { server: base } },
      clock: new ScaledClock(1),
      // Events are best effort: a cluster that does not answer changes nothing here.
      kc: await kcFor(base),
      rollbackStep: 'rollback',
      runIdKey: 'upgrade.midflight.dev/run-id',
      lease: { name: 'midflight-upgrade', namespace: 'kube-system' },
      log: (level, message) => {
        if (level === 'warn') warnings.push(message);
      },
      env: { MIDFLIGHT_TEST_HOOK_URL: `${base}/hook/${HOOK_SECRET}` },
    });
    await observer.runStarting({ resumed: false });
    const gate = (verdict: string, value: number) =>
      observer.onEvent({
        type: 'gate-evaluated',
        runId: 'run-gates',
        time: 0,
        gate: 'error-rate',
        verdict,
        value,
        baseline: 0.01,
        query: 'sum(rate(x[1m]))',
      });
    gate('failure', 0.05);
    gate('failure', 0.06);
    gate('success', 0.01);
    // The same evaluation carried as the event's `evaluation` (GateEvaluation) reads the same.
    observer.onEvent({
      type: 'gate-evaluated',
      runId: 'run-gates',
      time: 0,
      evaluation: {
        gate: 'error-rate',
        verdict: 'failure',
        value: 0.07,
        baseline: 0.01,
        query: 'sum(rate(x[1m]))',
      },
    });
    // The gate's action turned the upgrade into a rollback: its nodes' changes say so, once.
    for (const node of ['w1', 'w2'])
      observer.onEvent({
        type: 'node-changed',
        runId: 'run-gates',
        time: 0,
        stepId: 'rollback',
        node,
        status: 'running',
      });
    await observer.flush();
    expect(hook().map((r) => r.body.event)).toEqual(['gate-failed', 'gate-failed', 'rollback']);
    expect(hook()[2]!.body.title).toBe(`rollback of run run-gates started on ${base}`);
    expect(
      hook()
        .map((r) => r.body.details)
        .slice(0, 2),
    ).toEqual([
      { gate: 'error-rate', value: 0.05, baseline: 0.01, query: 'sum(rate(x[1m]))' },
      { gate: 'error-rate', value: 0.07, baseline: 0.01, query: 'sum(rate(x[1m]))' },
    ]);
    expect(warnings).toEqual([
      'alerts.notify[1].urlEnv: the environment variable MIDFLIGHT_TEST_UNSET_VARIABLE is not set',
      'alerts.notify[1] (slack): its notifications are not sent',
    ]);
  });
});

async function kcFor(server: string) {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}
