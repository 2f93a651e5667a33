/**
 * Rolling a real 3-member etcd (Debian's etcd 3.4, on loopback) as a plan's etcd phase: the engine runs the
 * policy's `command` provider, which restarts each member through the test's control endpoint
 * (etcd-member-control.ts), while a client writes without pause. The Kubernetes side is a sandbox whose
 * workers are behind, so the plan has something to apply after the etcd phase; one case rolls etcd alone,
 * through `midflight plan` and `apply`, on a sandbox already at the target.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type RunSummary, resumeRun, startRun } from '../../src/engine/index.ts';
import { EtcdClient } from '../../src/etcd/index.ts';
import type { Plan } from '../../src/plan/index.ts';
import { RunStore } from '../../src/store/index.ts';
import { jsonEvents, runCli } from '../cli/run-cli.ts';
import { type EtcdCluster, requireBinary, startEtcdCluster } from '../e2e/etcd-harness.ts';
import { type MemberControl, startMemberControl } from '../e2e/etcd-member-control.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  CrashError,
  FAST,
  FAST_TIMING,
  type Harness,
  harness,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
} from './engine-harness.ts';

/** Control plane at the target; two workers one minor behind (one alone could not be drained). */
const ONE_WORKER_BEHIND = `
name: engine-etcd
kubernetesVersion: v1.31.2
seed: 21
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
${FAST_TIMING}`;

/** Control plane and workers already at the target: only the etcd cluster has work to do. */
const AT_TARGET = `
name: engine-etcd-only
kubernetesVersion: v1.31.2
seed: 21
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, capacity: { cpu: "4", memory: 16Gi } }
${FAST_TIMING}`;

/**
 * Writes /roll/<n> = <n> one after another, each to the next member that answers, and keeps the keys
 * etcd acknowledged. A write that fails (its member is restarting) is not acknowledged and not retried
 * under the same key: only acknowledged writes must survive.
 */
class ContinuousWriter {
  readonly acked: string[] = [];
  private stopped = false;
  private done?: Promise<void>;
  private readonly clients: EtcdClient[];
  constructor(endpoints: string[]) {
    this.clients = endpoints.map((endpoint) => new EtcdClient({ endpoint, timeoutMs: 3_000 }));
  }
  start(): void {
    this.done = (async () => {
      let n = 0;
      let member = 0;
      while (!this.stopped) {
        const key = `/roll/${String(n++).padStart(6, '0')}`;
        try {
          await this.clients[member % this.clients.length]!.put(key, key);
          this.acked.push(key);
        } catch {
          member++;
        }
        // A breath between writes: the machine is shared, and a few hundred writes a second prove the same.
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Polls who leads and keeps each change: the sequence of leaders over the roll. */
class LeaderWatch {
  readonly leaders: string[] = [];
  private timer?: NodeJS.Timeout;
  constructor(private readonly cluster: EtcdCluster) {}
  start(): void {
    const poll = async () => {
      const leader = await this.cluster.leader().catch(() => undefined);
      if (leader && this.leaders.at(-1) !== leader) this.leaders.push(leader);
      this.timer = setTimeout(poll, 50);
    };
    void poll();
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

describe.skipIf(!requireBinary('etcd', 'etcd-server'))('rolling a real 3-member etcd', () => {
  let etcd: EtcdCluster | undefined;
  let control: MemberControl | undefined;
  let sandbox: RunningSandbox | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    h?.cleanup();
    await control?.close();
    await sandbox?.stop();
    await etcd?.stop();
    h = control = sandbox = etcd = undefined;
  }, 60_000);

  /**
   * The etcd cluster, its control endpoint, the sandbox and a plan with policy.etcd over them: `command`
   * instead of the restart through the control endpoint, `wanted` as etcd.version ('running': the version
   * the members run now).
   */
  async function setUp(
    healthTimeout: string,
    command?: string,
    wanted?: string,
    cluster = ONE_WORKER_BEHIND,
  ) {
    etcd = await startEtcdCluster({ members: 3 });
    control = await startMemberControl(etcd);
    const version = wanted === 'running' ? (await etcd.client('etcd-0').status()).version : wanted;
    sandbox = await startCluster(cluster);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    h = harness(sandbox, provider);
    const policy = testPolicy({
      canary: { nodes: 0 },
      etcd: {
        members: etcd.names.map((name, i) => ({ name, endpoint: etcd!.endpoints[i] })),
        upgrade: { kind: 'command', command: command ?? `curl -fsS -X POST ${control.url}/restart/{member}` },
        // Note: clock time at ×40. A member restarts in a second or two on an idle machine; the bound of a
        // roll that must succeed is generous (1h is 90 s of wall time) because the machine is shared.
        health: { timeout: healthTimeout },
        ...(version ? { version } : {}),
      },
    });
    const plan = await planFor(sandbox, 'v1.31.2', policy);
    const ids = new Map((await etcd.client('etcd-0').memberList()).map((m) => [m.name, m.id]));
    return { etcd, control, sandbox, h, policy, plan, ids, version };
  }

  const stepRows = (h: Harness, runId: string) => {
    const store = RunStore.open(h.statePath);
    try {
      return Object.fromEntries(
        store
          .stepStates(runId)
          .filter((r) => r.stepId.startsWith('etcd-') && r.stepId !== 'etcd-backup' && r.node === '')
          .map((r) => [r.stepId, r.status]),
      );
    } finally {
      store.close();
    }
  };

  it('restarts every member once while a client writes: no acknowledged write lost, the leader moved before its own restart and went last', async () => {
    const { etcd, control, h, plan, ids } = await setUp('1h');
    const writer = new ContinuousWriter(etcd.endpoints);
    const watch = new LeaderWatch(etcd);
    writer.start();
    watch.start();
    let summary: RunSummary;
    let ackedBeforeRoll = 0;
    try {
      // Some writes are in before the roll starts, so the read-back covers writes from before and during it.
      while (writer.acked.length < 20) await new Promise((r) => setTimeout(r, 20));
      ackedBeforeRoll = writer.acked.length;
      summary = await startRun(h.deps, plan, FAST);
    } finally {
      await writer.stop();
      watch.stop();
    }
    expect(summary.reason).toBeUndefined();
    expect(summary.state).toBe('succeeded');
    const messages = h.events.flatMap((e) =>
      'message' in e && typeof e.message === 'string' ? [e.message] : [],
    );

    // The order the engine chose from the leader it saw when the phase started (read from its log, as a
    // busy machine may hold an election before then): followers first, that leader last.
    const chosen = messages
      .map((m) => /^etcd member (\S+) leads: rolling (.+) \(followers first, the leader last\)$/.exec(m))
      .find((m) => m !== null);
    expect(chosen).toBeDefined();
    const [, leader, order] = chosen!;
    expect(order!.split(', ').at(-1)).toBe(leader);
    // Each member restarted exactly once, in that order; none led when its restart began: leadership had
    // moved away first, and the watch saw it change.
    expect(control.calls.map((c) => c.member)).toEqual(order!.split(', '));
    for (const call of control.calls) expect(call.leaderAtCall).not.toBe(call.member);
    expect(messages).toContainEqual(
      expect.stringMatching(new RegExp(`^etcd leadership moved from ${leader} to etcd-\\d$`)),
    );
    expect(new Set(watch.leaders).size).toBeGreaterThan(1);

    // Every write etcd acknowledged, before and during the roll, reads back with its value.
    expect(writer.acked.length).toBeGreaterThan(ackedBeforeRoll);
    const stored = await etcd.client('etcd-0').range('/roll/', { prefix: true });
    const values = new Map(stored.kvs.map((kv) => [kv.key, kv.value]));
    const lost = writer.acked.filter((key) => values.get(key) !== key);
    expect(lost).toEqual([]);

    // The same three members, all healthy, with the ids they had.
    const after = await etcd.client('etcd-1').memberList();
    expect(new Map(after.map((m) => [m.name, m.id]))).toEqual(ids);
    for (const name of etcd.names) expect((await etcd.client(name).healthy()).healthy).toBe(true);
    expect(stepRows(h, summary.runId)).toEqual({
      'etcd-etcd-0': 'done',
      'etcd-etcd-1': 'done',
      'etcd-etcd-2': 'done',
    });
  }, 240_000);

  it("stops the run when a member's command fails, naming it with the quorum state", async () => {
    const { control, h, plan } = await setUp('1h', 'echo "etcd.service: no such unit" >&2; exit 5');
    const summary = await startRun(h.deps, plan, FAST);
    expect(summary.state).toBe('failed');
    expect(summary.reason).toMatch(
      /^the upgrade command of etcd member (etcd-\d) exited with status 5: etcd\.service: no such unit; etcd-0, etcd-1, etcd-2 healthy \(3 of 3, quorum 2 kept\); the roll stops at \1: no other member is touched: repair \1, then `midflight resume run-[\w-]+` \(its commands run again\)$/,
    );
    expect(control.calls).toEqual([]);
    expect(Object.values(stepRows(h, summary.runId))).toEqual(['failed']);
  }, 240_000);

  it('stops the run when a member does not come back: quorum kept, no other member touched; a resume after its repair goes on without running its command again', async () => {
    // Note: 10m of clock time is 15 s of wall time: long enough for the checks before the member goes down
    // on a busy machine, and the member never returns, so the wait after only has to end.
    const { etcd, control, h, plan } = await setUp('10m');
    control.leaveDown = 1;
    const pids = new Map(etcd.names.map((n) => [n, etcd.member(n).pid]));
    const summary = await startRun(h.deps, plan, FAST);
    expect(summary.state).toBe('failed');
    expect(control.calls).toHaveLength(1);
    const down = control.calls[0]!.member;
    const others = etcd.names.filter((n) => n !== down);
    expect(summary.reason).toMatch(
      new RegExp(
        `etcd member ${down} did not come back within 10m \\(etcd\\.health\\.timeout\\): etcd member ${down} is not healthy .*; ${others.join(', ')} healthy \\(2 of 3, quorum 2 kept\\); the roll stops at ${down}: no other member is touched`,
      ),
    );
    // The other two serve, untouched (the same processes), and nothing ran after the failed step.
    for (const name of others) {
      expect((await etcd.client(name).healthy()).healthy).toBe(true);
      expect(etcd.member(name).pid).toBe(pids.get(name));
    }
    expect(stepRows(h, summary.runId)).toEqual({ [`etcd-${down}`]: 'failed' });
    expect((h.deps.provider as CountingProvider).upgrades).toEqual([]);

    // The operator brings the member back; the resumed run checks it without restarting it again, rolls
    // the two others, then the worker.
    await etcd.start(down);
    const resumed = await resumeRun(h.deps, summary.runId, FAST);
    expect(resumed.reason).toBeUndefined();
    expect(resumed.state).toBe('succeeded');
    expect(control.calls.map((c) => c.member).sort()).toEqual([...etcd.names].sort());
    expect(stepRows(h, summary.runId)).toEqual({
      'etcd-etcd-0': 'done',
      'etcd-etcd-1': 'done',
      'etcd-etcd-2': 'done',
    });
  }, 240_000);

  it('killed right after a member restarted, before the store heard of it: the resumed run restarts it again and finishes, no write lost', async () => {
    const { etcd, control, h, plan } = await setUp('1h');
    // Every store write fails from the moment the first restart is over, as if the process died there.
    const crashing = harness(sandbox!, h.deps.provider, {
      beforeWrite: () => {
        if (control.restarted.length > 0) throw new CrashError(0);
      },
    });
    const writer = new ContinuousWriter(etcd.endpoints);
    writer.start();
    try {
      await expect(startRun(crashing.deps, plan, FAST)).rejects.toBeInstanceOf(CrashError);
      const first = control.restarted[0]!;
      const store = crashing.openStore({});
      const [run] = store.listRuns();
      const row = store.stepState(run!.id, `etcd-${first}`);
      // The intent (and the member's id) was on disk before the command ran; its end was not.
      expect({ intent: row?.intent, upgraded: 'upgraded' in (row?.detail ?? {}) }).toEqual({
        intent: 'upgrade',
        upgraded: false,
      });
      expect(row?.detail).toHaveProperty('memberId');
      const summary = await resumeRun({ ...crashing.deps, store }, run!.id, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      // The member whose end was lost is restarted again (the policy's commands must allow it); the others once.
      const counts = Object.fromEntries(
        etcd.names.map((n) => [n, control.calls.filter((c) => c.member === n).length]),
      );
      expect(counts).toEqual(Object.fromEntries(etcd.names.map((n) => [n, n === first ? 2 : 1])));
      for (const call of control.calls) expect(call.leaderAtCall).not.toBe(call.member);
    } finally {
      await writer.stop();
      crashing.cleanup();
    }
    const stored = await etcd.client('etcd-0').range('/roll/', { prefix: true });
    const values = new Map(stored.kvs.map((kv) => [kv.key, kv.value]));
    expect(writer.acked.filter((key) => values.get(key) !== key)).toEqual([]);
  }, 240_000);

  it('leaves alone a member that already runs the version', async () => {
    const { control, h, plan, version } = await setUp('1h', undefined, 'running');
    const running = version!;
    const summary = await startRun(h.deps, plan, FAST);
    expect(summary.reason).toBeUndefined();
    expect(control.calls).toEqual([]);
    const messages = h.events.flatMap((e) =>
      'message' in e && typeof e.message === 'string' ? [e.message] : [],
    );
    expect(messages.filter((m) => m.endsWith(`already runs ${running}: nothing to do`))).toHaveLength(3);
  }, 240_000);

  it('stops at a member that comes back at another version than the policy says', async () => {
    // Note: as for a member that does not come back, 10m (15 s of wall time): checks that must pass, a wait that must end.
    const { control, h, plan } = await setUp('10m', undefined, '3.9.9');
    const summary = await startRun(h.deps, plan, FAST);
    expect(summary.state).toBe('failed');
    expect(control.calls).toHaveLength(1);
    const member = control.calls[0]!.member;
    expect(summary.reason).toMatch(
      new RegExp(
        `^etcd member ${member} did not come back within 10m \\(etcd\\.health\\.timeout\\): etcd member ${member} runs 3\\.\\d+\\.\\d+, not 3\\.9\\.9; etcd-0, etcd-1, etcd-2 healthy \\(3 of 3, quorum 2 kept\\)`,
      ),
    );
  }, 240_000);

  it('rolls etcd alone when Kubernetes already runs the target: `plan` holds the backup and the etcd phase, `apply` runs them', async () => {
    const { etcd, control, sandbox, h, policy, ids } = await setUp('1h', undefined, undefined, AT_TARGET);
    const dir = dirname(h.statePath);
    const policyPath = join(dir, 'policy.yaml');
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(policyPath, stringify(policy));
    const cli = (...args: string[]) =>
      runCli('--kubeconfig', sandbox.kubeconfigPath, ...args, '--state', h.statePath);

    const planned = await cli(
      'plan',
      '--to',
      'v1.31.2',
      '--policy',
      policyPath,
      '-o',
      'yaml',
      '--out',
      planPath,
    );
    expect(planned.code, planned.stderr).toBe(0);
    const plan = parse(readFileSync(planPath, 'utf8')) as Plan;
    expect(plan.phases.map((p) => p.kind)).toEqual(['preflight', 'etcd-backup', 'etcd', 'validation']);

    const applied = await cli('apply', planPath, '-o', 'json');
    expect(applied.code, applied.stderr).toBe(0);
    const finished = jsonEvents(applied.stdout).find((e) => e.type === 'run-finished');
    expect(finished).toMatchObject({ state: 'succeeded' });
    // The snapshot first, from the members the policy rolls; then each member restarted once, as itself.
    expect(readdirSync(join(dir, 'etcd-backups')).filter((f) => f.endsWith('.db'))).toHaveLength(1);
    expect(control.calls.map((c) => c.member).sort()).toEqual([...etcd.names].sort());
    const after = await etcd.client('etcd-1').memberList();
    expect(new Map(after.map((m) => [m.name, m.id]))).toEqual(ids);
    expect(stepRows(h, String(finished!.runId))).toEqual({
      'etcd-etcd-0': 'done',
      'etcd-etcd-1': 'done',
      'etcd-etcd-2': 'done',
    });
  }, 240_000);

  it('does not start a member while another one is unhealthy', async () => {
    const { etcd, control, h, plan } = await setUp('2m');
    await etcd.stop('etcd-2');
    const summary = await startRun(h.deps, plan, FAST);
    expect(summary.state).toBe('failed');
    expect(summary.reason).toMatch(
      /etcd member etcd-2 is not healthy \(.*\): restarting etcd-[01] now would leave 1 of 3 member\(s\) healthy, quorum needs 2 \(waited 2m, etcd\.health\.timeout\); etcd member etcd-[01] was not touched/,
    );
    expect(control.calls).toEqual([]);
  }, 240_000);
});
