/**
 * Quiet on purpose: a run's Alertmanager silences, against a real Alertmanager and a sandbox run. Each node
 * is silenced (by node and by instance, for the listed alerts) from before its cordon until it is back in
 * service; abort and the run's end leave none; a crashed run's silences are expired when it resumes; a
 * blanket silence is refused before anything is made.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../src/core/clock.ts';
import { requestAbort, resumeRun, startRun } from '../../src/engine/index.ts';
import {
  AlertmanagerClient,
  type GettableSilence,
  observeRun,
  StepSilencer,
} from '../../src/observe/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import type { UpgradeContext, UpgradeProvider } from '../../src/providers/index.ts';
import {
  CrashError,
  FAST,
  harness,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from '../engine/engine-harness.ts';
import { alertmanagerMissing, type RunningAlertmanager, startAlertmanager } from './alertmanager.ts';

// Locally a missing binary skips the tests below with a message; with CI set this throws (the file fails).
const missing = alertmanagerMissing();

describe('blanket silences are refused', () => {
  it.each([
    [[['alertname="KubeNodeNotReady"']], [], 'no matcher names the node'],
    [[['node="{node}"']], [], 'no alertname matcher'],
    [[['node!="{node}"']], ['KubeNodeNotReady'], 'no matcher names the node'],
    [[['node="{node}"', 'alertname=~".*"']], [], 'matches any alert name'],
    [[['cluster="prod"']], ['KubeNodeNotReady'], 'no matcher names the node'],
    [[['node="{node}"']], ['Kube.*'], 'alertnames'],
    [[['node = {node}']], [], 'must be name="value"'],
  ])('matchers %j with alertnames %j', (matchers, alertnames, why) => {
    const result = validatePolicy(
      { alerts: { alertmanager: { url: 'http://127.0.0.1:9' }, silence: { matchers, alertnames } } },
      'p.yaml',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => `${e.field}: ${e.message}`).join('\n')).toContain(why);
    // The silencer refuses the same sets on its own, whoever builds it.
    if (why !== 'alertnames')
      expect(
        () =>
          new StepSilencer({
            url: 'http://127.0.0.1:9',
            matchers,
            alertnames,
            runId: 'r',
            clock: new RealClock(),
          }),
      ).toThrow(why.startsWith('must') ? /must be name/ : /blanket silence/);
  });

  it('accepts the defaults and names every field it refuses', () => {
    expect(validatePolicy({ alerts: { alertmanager: { url: 'http://am:9093' } } }, 'p.yaml').ok).toBe(true);
    const bad = validatePolicy(
      {
        alerts: {
          alertmanager: { url: 'ftp://am', timeout: 'soon', extra: 1 },
          notify: [
            { kind: 'slack', url: 'https://hooks.slack.com/services/T0/B0/Zq9TOKEN' },
            { kind: 'pager' },
          ],
        },
      },
      'p.yaml',
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.field)).toEqual([
      'alerts.alertmanager.extra',
      'alerts.alertmanager.url',
      'alerts.alertmanager.timeout',
      'alerts.notify[0].url',
      'alerts.notify[1].kind',
      'alerts.notify[1]',
    ]);
    // The refusal of an inline webhook URL does not repeat it.
    expect(JSON.stringify(bad.errors)).not.toContain('Zq9TOKEN');
  });
});

describe('a token that cannot be read', () => {
  it('is a warning, and the run makes no silence rather than one without it', async () => {
    const policy = validatePolicy(
      { alerts: { alertmanager: { url: 'http://127.0.0.1:9', bearerTokenFile: '/nonexistent/am-token' } } },
      'p.yaml',
    );
    if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
    const logged: string[] = [];
    const observer = observeRun({
      alerts: policy.policy.alerts,
      runId: 'run-token',
      plan: {
        id: 'plan-000000000000',
        source: 'v1.30.6',
        target: 'v1.31.2',
        cluster: { server: 'http://127.0.0.1:9' },
      },
      clock: new RealClock(),
      kc: new KubeConfig(),
      rollbackStep: 'rollback',
      runIdKey: 'upgrade.midflight.dev/run-id',
      lease: { name: 'midflight-upgrade', namespace: 'kube-system' },
      log: (level, message) => logged.push(`${level}: ${message}`),
    });
    await observer.runStarting({ resumed: true });
    // No silencer: nothing is asked of Alertmanager (port 9 would have made it a warning per node).
    await observer.nodeStarting('wave-1', 'n1');
    await observer.nodeSettled('wave-1', 'n1');
    await observer.flush();
    expect(logged).toEqual([
      'warn: alerts.alertmanager.bearerTokenFile: cannot read /nonexistent/am-token (ENOENT)',
      'warn: no Alertmanager silences are made for this run: its alerts may fire',
    ]);
  });
});

describe.skipIf(missing !== undefined)('silences in a real Alertmanager', () => {
  let am: RunningAlertmanager;
  let client: AlertmanagerClient;
  beforeAll(async () => {
    am = await startAlertmanager();
    client = new AlertmanagerClient({ url: am.url, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await am?.stop();
  });

  const ofRun = async (runId: string) =>
    (await client.listSilences()).filter(
      (s) => s.createdBy === 'midflight' && s.comment.includes(`run ${runId},`),
    );
  const active = (silences: GettableSilence[]) => silences.filter((s) => s.status.state === 'active');
  const nodeOf = (s: GettableSilence) =>
    s.matchers
      .find((m) => m.name === 'node' || m.name === 'instance')!
      .value.split('(')[0]!
      .replace(/\\/g, '');

  it('silences one step key per node and matcher set, expires them, and cleans up only its own run', async () => {
    const clock = new RealClock();
    const make = (runId: string) =>
      new StepSilencer({
        url: am.url,
        matchers: [['node="{node}"'], ['instance=~"{node}(:[0-9]+)?"']],
        alertnames: ['KubeNodeNotReady', 'KubePodNotReady'],
        runId,
        clock,
      });
    const first = make('run-unit-a');
    await first.silence('wave-1/ip-10-0-0-1.ec2.internal', ['ip-10-0-0-1.ec2.internal']);
    const made = active(await ofRun('run-unit-a'));
    expect(made.map((s) => s.matchers)).toEqual(
      expect.arrayContaining([
        [
          { name: 'node', value: 'ip-10-0-0-1.ec2.internal', isRegex: false, isEqual: true },
          { name: 'alertname', value: 'KubeNodeNotReady|KubePodNotReady', isRegex: true, isEqual: true },
        ],
        [
          { name: 'instance', value: 'ip-10-0-0-1\\.ec2\\.internal(:[0-9]+)?', isRegex: true, isEqual: true },
          { name: 'alertname', value: 'KubeNodeNotReady|KubePodNotReady', isRegex: true, isEqual: true },
        ],
      ]),
    );
    expect(made).toHaveLength(2);
    expect(made[0]!.comment).toContain('step wave-1/ip-10-0-0-1.ec2.internal');
    await first.release('wave-1/ip-10-0-0-1.ec2.internal');
    expect(active(await ofRun('run-unit-a'))).toEqual([]);

    // A crashed process's silences: another silencer of the same run expires them, not another run's.
    await make('run-unit-b').silence('s/n1', ['n1']);
    await make('run-unit-c').silence('s/n1', ['n1']);
    expect(await make('run-unit-b').cleanupRun('run-unit-b')).toBe(2);
    expect(active(await ofRun('run-unit-b'))).toEqual([]);
    expect(active(await ofRun('run-unit-c'))).toHaveLength(2);
    await make('run-unit-c').cleanupRun('run-unit-c');
  });

  /** Looks at Alertmanager while the provider upgrades each node: the node must be silenced then. */
  class SilenceWatchingProvider implements UpgradeProvider {
    readonly kind = 'sandbox-api';
    readonly seen = new Map<string, GettableSilence[]>();
    onUpgrade?: (ctx: UpgradeContext) => void;
    constructor(private readonly inner: UpgradeProvider) {}
    async upgradeNode(ctx: UpgradeContext): Promise<void> {
      this.seen.set(
        ctx.node,
        active(await ofRun(ctx.runId)).filter((s) => nodeOf(s) === ctx.node),
      );
      this.onUpgrade?.(ctx);
      return this.inner.upgradeNode(ctx);
    }
  }

  it('a run silences each node, control plane included, from before its cordon until it is back in service', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const provider = new SilenceWatchingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    const cordonedAt = new Map<string, number>();
    h.deps.onEvent = (e) => {
      h.events.push(e);
      if (e.type === 'node-changed' && e.activity === 'cordon') cordonedAt.set(e.node, Date.now());
    };
    try {
      const plan = await planFor(
        sandbox,
        'v1.31.2',
        testPolicy({ alerts: { alertmanager: { url: am.url } } }),
      );
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('succeeded');
      expect(summary.warnings.filter((w) => /silence|alertmanager/i.test(w))).toEqual([]);
      const workers = summary.nodes.upgraded;
      expect(workers).toHaveLength(6);
      expect(workers).toContain('cp-1');
      const all = await ofRun(summary.runId);
      for (const node of workers) {
        // Two silences (node and instance) were in force while its provider ran...
        expect(
          provider.seen
            .get(node)
            ?.map((s) => s.matchers[0]!.name)
            .sort(),
        ).toEqual(['instance', 'node']);
        for (const s of provider.seen.get(node)!) {
          expect(s.comment).toContain(`midflight run ${summary.runId}, step `);
          expect(s.matchers.find((m) => m.name === 'alertname')?.value).toContain('KubeNodeNotReady');
          // ...made before the node was cordoned...
          expect(Date.parse(s.startsAt)).toBeLessThanOrEqual(cordonedAt.get(node)!);
        }
        // ...and expired once it was back: none of the run's is left active.
        expect(all.filter((s) => nodeOf(s) === node).map((s) => s.status.state)).toEqual([
          'expired',
          'expired',
        ]);
      }
      expect(active(all)).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  });

  it('an abort expires the silences of the node in flight; the bearer token is never shown', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const provider = new SilenceWatchingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    provider.onUpgrade = (ctx) => requestAbort(h.deps.store, ctx.runId);
    const dir = mkdtempSync(join(tmpdir(), 'midflight-am-token-'));
    const token = 'amToken-5ecret-81';
    writeFileSync(join(dir, 'token'), `${token}\n`);
    try {
      const policy = testPolicy({
        alerts: { alertmanager: { url: am.url, bearerTokenFile: join(dir, 'token') } },
      });
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy), FAST);
      expect(summary.state).toBe('aborted');
      const [node] = [...provider.seen.keys()];
      expect(provider.seen.get(node!)).toHaveLength(2);
      expect(active(await ofRun(summary.runId))).toEqual([]);
      expect(JSON.stringify([h.events, h.deps.store.logs(summary.runId), summary])).not.toContain(token);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      h.cleanup();
      await sandbox.stop();
    }
  });

  it("a crashed run's silences are expired when it resumes, and its nodes silenced again", async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const provider = new SilenceWatchingProvider(new SandboxApiProvider(sandbox));
    let crashNow = false;
    const h = harness(sandbox, provider, {
      beforeWrite: () => {
        if (crashNow) throw new CrashError(0);
      },
    });
    // The process "dies" at the first store write after the canary's provider started.
    provider.onUpgrade = () => {
      crashNow = true;
    };
    try {
      const plan = await planFor(
        sandbox,
        'v1.31.2',
        testPolicy({ alerts: { alertmanager: { url: am.url } } }),
      );
      await expect(startRun(h.deps, plan, FAST)).rejects.toBeInstanceOf(CrashError);
      const store = h.openStore();
      const [run] = store.listRuns();
      const leftovers = active(await ofRun(run!.id));
      expect(leftovers).toHaveLength(2);

      provider.onUpgrade = undefined;
      const summary = await resumeRun({ ...h.deps, store }, run!.id, FAST);
      expect(summary.state).toBe('succeeded');
      const after = await ofRun(run!.id);
      for (const old of leftovers) expect(after.find((s) => s.id === old.id)?.status.state).toBe('expired');
      expect(active(after)).toEqual([]);
      expect(store.logs(run!.id).map((l) => l.message)).toContain(
        'expired 2 Alertmanager silence(s) an earlier process of this run left',
      );
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  });

  it('an Alertmanager that cannot be reached is warned about and the upgrade goes on', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      // Port 9 (discard) on loopback: nothing listens there.
      const policy = testPolicy({ alerts: { alertmanager: { url: 'http://127.0.0.1:9', timeout: '2s' } } });
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy), FAST);
      expect(summary.state).toBe('succeeded');
      expect(summary.warnings.filter((w) => w.startsWith('could not silence the alerts of'))).toHaveLength(3);
      expect(summary.warnings[0]).toContain('alertmanager http://127.0.0.1:9: create a silence: unreachable');
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  });
});
