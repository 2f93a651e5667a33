/**
 * One member of an external etcd cluster (a plan's etcd-member step), rolled while the others keep quorum:
 *
 *   before   every member of policy.etcd healthy, the live membership the policy's, every raft index
 *            within the tolerance of the leader's (read again until they converge, or the health timeout)
 *   leader   if the member leads, leadership moves to the most caught-up other member, and is confirmed
 *   provider the policy's etcd.upgrade commands (intent written first, the member's id with it)
 *   after    the member healthy again as the same member (same id), caught up, at the version when one is
 *            set, and every other member healthy
 *
 * A member that does not come back stops the run there: its step fails with the cluster's state in the
 * reason, the other members untouched (they are later steps). A resume after the member is repaired checks
 * it again without running its commands again; a crash while they ran runs them again (they must allow it).
 */
import {
  followersFirst,
  laggingMembers,
  type MemberHealth,
  memberDownProblem,
  parseDuration,
  quorumOf,
} from '../core/index.ts';
import { EtcdClient, type EtcdStatus } from '../etcd/index.ts';
import { type EtcdMemberStep, type EtcdPolicy, normalizeEtcdVersion, type PlanStep } from '../plan/index.ts';
import { EtcdMemberCommandProvider, ProviderConfigError, ProviderError } from '../providers/index.ts';
import { StepFailedError } from './errors.ts';
import type { RunContext } from './run-context.ts';

/** One member as the engine saw it in one read. */
interface MemberView extends MemberHealth {
  endpoint: string;
  /** Its id in the live member list (absent when no list could be read or it is not in it). */
  id?: string;
  status?: EtcdStatus;
}

/** The cluster in one read: every member of the policy, the leader, and what is wrong with its membership. */
interface ClusterView {
  members: MemberView[];
  leader?: MemberView;
  /** The live membership is not the policy's: quorum would be counted wrong. Waiting does not fix it. */
  membership: string[];
}

/** The clients of one step: one per member, built from the policy's endpoints and TLS files. */
type Clients = Map<string, EtcdClient>;

/** Wall-clock ms one call to a member may take: a member that does not answer in that time is unhealthy. */
const CALL_TIMEOUT_MS = 5_000;

export async function etcdMemberStep(ctx: RunContext, step: EtcdMemberStep): Promise<void> {
  const etcd = ctx.plan.policy.etcd;
  if (!etcd)
    throw new StepFailedError(
      step.id,
      undefined,
      `${step.title}: the plan's policy has no etcd section; write the plan again with it`,
      false,
    );
  const clients = clientsOf(etcd, step);
  let row = ctx.etcdMemberRow(step.id);
  if (!row?.detail.upgraded) {
    // Note: intent 'upgrade' without `upgraded`: a crash while the commands ran; the member may be down now.
    const resumed = row?.intent === 'upgrade';
    const before = await waitForCluster(ctx, step, clients, resumed ? 'resumed' : 'before');
    const self = before.members.find((m) => m.name === step.member)!;
    const memberId = row?.detail.memberId ?? self.id!;
    // A member already at the version is not upgraded (again): fresh, nothing to do; resumed after a crash
    // that came once its commands had done their work, it only has to be checked.
    const atVersion = step.version && self.healthy && sameVersion(self.status!.version, step.version);
    if (atVersion && !resumed) {
      ctx.log('info', `etcd member ${step.member} already runs ${step.version}: nothing to do`, {
        stepId: step.id,
      });
      return;
    }
    if (!atVersion) {
      if (self.healthy && before.leader?.name === step.member)
        await moveLeadership(ctx, step, clients, before);
      ctx.checkpoint('sub-step');
      row = ctx.putEtcdMemberRow(step.id, { intent: 'upgrade', detail: { memberId } });
      await upgradeMember(ctx, step, etcd, clients);
    }
    row = ctx.putEtcdMemberRow(step.id, { intent: 'verify', detail: { upgraded: true } });
  }
  ctx.checkpoint('sub-step');
  await waitForMemberBack(ctx, step, clients, row.detail.memberId);
}

/**
 * The etcd phase's steps in the order to run them: followers first, the member leading now last (read
 * live when the phase starts). When no member answers, the plan's order: the first step says why it cannot
 * start.
 */
export async function etcdRollOrder(ctx: RunContext, steps: PlanStep[]): Promise<PlanStep[]> {
  const etcd = ctx.plan.policy.etcd;
  if (!etcd) return steps;
  const view = await readCluster(etcd, clientsOf(etcd));
  const leader = view.leader?.name;
  if (!leader) return steps;
  const ordered = followersFirst(steps, (s) => s.kind === 'etcd-member' && s.member === leader);
  ctx.log(
    'info',
    `etcd member ${leader} leads: rolling ${ordered
      .filter((s): s is EtcdMemberStep => s.kind === 'etcd-member')
      .map((s) => s.member)
      .join(', ')} (followers first, the leader last)`,
  );
  return ordered;
}

function clientsOf(etcd: EtcdPolicy, step?: EtcdMemberStep): Clients {
  try {
    return new Map(
      etcd.members.map((m) => [
        m.name,
        new EtcdClient({ endpoint: m.endpoint, tls: etcd.tls, timeoutMs: CALL_TIMEOUT_MS }),
      ]),
    );
  } catch (err) {
    // A TLS file that cannot be read: nothing to wait for.
    throw new StepFailedError(step?.id ?? 'etcd', undefined, (err as Error).message, false, { cause: err });
  }
}

/** Reads every member's health and status at once, the member list from the first that answers. */
async function readCluster(etcd: EtcdPolicy, clients: Clients): Promise<ClusterView> {
  const reads = await Promise.all(
    etcd.members.map(async (m) => {
      const client = clients.get(m.name)!;
      const [health, status] = await Promise.all([
        client.healthy(),
        client.status().catch((err: Error) => err),
      ]);
      return { member: m, health, status };
    }),
  );
  let list: Awaited<ReturnType<EtcdClient['memberList']>> | undefined;
  for (const r of reads) {
    if (r.status instanceof Error) continue;
    list = await clients
      .get(r.member.name)!
      .memberList()
      .catch(() => undefined);
    if (list) break;
  }
  const members: MemberView[] = reads.map(({ member, health, status }) => {
    const answered = status instanceof Error ? undefined : status;
    const alarms = answered?.errors ?? [];
    const healthy = health.healthy && answered !== undefined && alarms.length === 0;
    const detail = healthy
      ? 'healthy'
      : status instanceof Error
        ? status.message
        : alarms.length > 0
          ? `alarms: ${alarms.join(', ')}`
          : (health.reason ?? 'not healthy');
    const id = list?.find((l) => l.name === member.name)?.id;
    return {
      name: member.name,
      endpoint: member.endpoint,
      healthy,
      detail,
      ...(id ? { id } : {}),
      ...(answered ? { status: answered } : {}),
    };
  });
  const membership: string[] = [];
  if (list) {
    const voters = list.filter((l) => !l.isLearner);
    for (const l of voters)
      if (!etcd.members.some((m) => m.name === l.name))
        membership.push(
          `the cluster has member ${l.name || `(unnamed, id ${l.id})`} (${l.clientURLs.join(', ') || 'no client URL'}) that etcd.members does not list: quorum is counted over every member, so list it`,
        );
    for (const m of etcd.members)
      if (!voters.some((l) => l.name === m.name))
        membership.push(`etcd.members lists ${m.name}, but the cluster has no voting member of that name`);
  }
  const leaderId = members.find((m) => m.status && m.status.leader !== '0')?.status?.leader;
  const leader = leaderId ? members.find((m) => m.id === leaderId) : undefined;
  return { members, membership, ...(leader ? { leader } : {}) };
}

/**
 * What keeps the members from counting as caught up, or undefined: the leader's status is read again first,
 * then every other healthy member's (see laggingMembers for why in that order).
 */
async function lagProblem(
  view: ClusterView,
  clients: Clients,
  tolerance: number,
): Promise<string | undefined> {
  const leader = view.leader;
  if (!leader) return 'etcd has no leader';
  const leaderStatus = await clients
    .get(leader.name)!
    .status()
    .catch(() => undefined);
  if (!leaderStatus) return `the leader ${leader.name} did not answer`;
  const others = view.members.filter((m) => m.healthy && m.name !== leader.name);
  const states = await Promise.all(
    others.map(async (m) => {
      const status = await clients
        .get(m.name)!
        .status()
        .catch(() => undefined);
      return { name: m.name, raftIndex: status?.raftIndex ?? 0 };
    }),
  );
  const lagging = laggingMembers(leaderStatus.raftIndex, states, tolerance);
  if (lagging.length === 0) return undefined;
  return lagging
    .map(
      (m) =>
        `etcd member ${m.name} trails the leader ${leader.name} by ${m.behind} raft entries (raft index ${m.raftIndex} of ${leaderStatus.raftIndex}; tolerance ${tolerance})`,
    )
    .join('; ');
}

/** The member's step cannot start: its reason says what was seen and that the member was not touched. */
function notStarted(ctx: RunContext, step: EtcdMemberStep, problem: string, retryable: boolean): never {
  throw new StepFailedError(
    step.id,
    undefined,
    `${problem}; etcd member ${step.member} was not touched: repair etcd, then \`midflight resume ${ctx.runId}\``,
    retryable,
  );
}

/**
 * Before the member goes down: waits (up to etcd.health.timeout) for every member to be healthy and caught
 * up. `resumed`: its commands ran before a crash, so the member itself may be down; the others may not.
 */
async function waitForCluster(
  ctx: RunContext,
  step: EtcdMemberStep,
  clients: Clients,
  when: 'before' | 'resumed',
): Promise<ClusterView> {
  const etcd = ctx.plan.policy.etcd!;
  const deadline = ctx.clock.now() + parseDuration(etcd.health.timeout);
  const words = {
    member: (name: string) => `etcd member ${name}`,
    action: `restarting ${step.member}`,
  };
  for (;;) {
    const view = await readCluster(etcd, clients);
    if (view.membership.length > 0) notStarted(ctx, step, view.membership.join('; '), false);
    const self = view.members.find((m) => m.name === step.member)!;
    let problem = memberDownProblem(view.members, step.member, words);
    if (!problem && when === 'before' && !self.healthy)
      problem = `etcd member ${step.member} itself is not healthy (${self.detail}): a roll takes down only healthy members of a healthy cluster`;
    if (!problem && !self.id && when === 'before')
      problem = `etcd member ${step.member} is not in the member list`;
    problem ??= await lagProblem(view, clients, etcd.health.raftIndexTolerance);
    if (!problem) return view;
    if (ctx.clock.now() >= deadline)
      notStarted(ctx, step, `${problem} (waited ${etcd.health.timeout}, etcd.health.timeout)`, true);
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}

/**
 * The member leads: asks it to hand leadership to the most caught-up other member and waits until every
 * healthy member names another leader. Elections may move it elsewhere meanwhile; any leader but this
 * member will do.
 */
async function moveLeadership(
  ctx: RunContext,
  step: EtcdMemberStep,
  clients: Clients,
  before: ClusterView,
): Promise<void> {
  const etcd = ctx.plan.policy.etcd!;
  const deadline = ctx.clock.now() + parseDuration(etcd.health.timeout);
  let view = before;
  let lastError = '';
  for (;;) {
    const leader = view.leader?.name;
    const agreed = view.members.filter((m) => m.healthy).every((m) => m.status?.leader === view.leader?.id);
    if (leader && leader !== step.member && agreed) {
      ctx.log('info', `etcd leadership moved from ${step.member} to ${leader}`, { stepId: step.id });
      return;
    }
    if (leader === step.member) {
      const target = view.members
        .filter((m) => m.name !== step.member && m.healthy && m.id && m.status)
        .sort((a, b) => b.status!.raftIndex - a.status!.raftIndex)[0];
      if (target) {
        ctx.log(
          'info',
          `etcd member ${step.member} leads: moving leadership to ${target.name} (raft index ${target.status!.raftIndex}) before it goes down`,
          { stepId: step.id },
        );
        await clients
          .get(step.member)!
          .transferLeadership(target.id!)
          .catch((err: Error) => {
            lastError = `: ${err.message}`;
          });
      }
    }
    if (ctx.clock.now() >= deadline)
      notStarted(
        ctx,
        step,
        `etcd member ${step.member} leads and leadership could not be moved to another member within ${etcd.health.timeout} (etcd.health.timeout)${lastError}`,
        true,
      );
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
    view = await readCluster(etcd, clients);
  }
}

/** Runs the policy's commands for the member; a failure stops the run with the cluster's state. */
async function upgradeMember(
  ctx: RunContext,
  step: EtcdMemberStep,
  etcd: EtcdPolicy,
  clients: Clients,
): Promise<void> {
  let provider: EtcdMemberCommandProvider;
  try {
    provider = new EtcdMemberCommandProvider(etcd.upgrade, { cwd: process.cwd() });
  } catch (err) {
    if (err instanceof ProviderConfigError)
      throw new StepFailedError(step.id, undefined, err.message, false, { cause: err });
    throw err;
  }
  try {
    await provider.upgradeMember({
      member: step.member,
      endpoint: step.endpoint,
      version: step.version ?? '',
      signal: ctx.fatal.signal,
      outputFile: ctx.outputFile(`etcd-${step.member}`),
      log: (line) => ctx.log('info', line, { stepId: step.id }),
    });
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    const state = describeQuorum(await readCluster(etcd, clients), step);
    throw new StepFailedError(
      step.id,
      undefined,
      `${err.message}; ${state}: repair ${step.member}, then \`midflight resume ${ctx.runId}\` (its commands run again)`,
      err.failureClass !== 'permanent',
      { cause: err },
    );
  }
}

/**
 * After its commands: waits (up to etcd.health.timeout) for the member to be healthy again as the same
 * member, caught up, at the version when one is set, with every other member healthy.
 */
async function waitForMemberBack(
  ctx: RunContext,
  step: EtcdMemberStep,
  clients: Clients,
  memberId: string | undefined,
): Promise<void> {
  const etcd = ctx.plan.policy.etcd!;
  const deadline = ctx.clock.now() + parseDuration(etcd.health.timeout);
  for (;;) {
    const view = await readCluster(etcd, clients);
    const self = view.members.find((m) => m.name === step.member)!;
    const returnedAs = self.status?.memberId;
    if (memberId && returnedAs && returnedAs !== '0' && returnedAs !== memberId)
      // A new id is a new member (added again, its data lost): waiting does not make it the old one.
      throw new StepFailedError(
        step.id,
        undefined,
        `etcd member ${step.member} came back as another member (id ${returnedAs}, was ${memberId}): it lost its data or was added again; ${describeQuorum(view, step)}: check it before \`midflight resume ${ctx.runId}\``,
        false,
      );
    let problem: string | undefined;
    if (view.membership.length > 0) problem = view.membership.join('; ');
    else if (!self.healthy) problem = `etcd member ${step.member} is not healthy (${self.detail})`;
    else if (step.version && !sameVersion(self.status!.version, step.version))
      problem = `etcd member ${step.member} runs ${self.status!.version}, not ${step.version}`;
    else {
      const sick = view.members.filter((m) => !m.healthy);
      if (sick.length > 0)
        problem = sick.map((m) => `etcd member ${m.name} is not healthy (${m.detail})`).join(', ');
    }
    problem ??= await lagProblem(view, clients, etcd.health.raftIndexTolerance);
    if (!problem) {
      ctx.log(
        'info',
        `etcd member ${step.member} is back: healthy, id ${memberId ?? returnedAs}, ${self.status!.version}, raft index ${self.status!.raftIndex}`,
        { stepId: step.id },
      );
      return;
    }
    if (ctx.clock.now() >= deadline)
      throw new StepFailedError(
        step.id,
        undefined,
        `etcd member ${step.member} did not come back within ${etcd.health.timeout} (etcd.health.timeout): ${problem}; ${describeQuorum(view, step)}: repair it, then \`midflight resume ${ctx.runId}\` (its commands are not run again)`,
        true,
      );
    await ctx.sleepUntil(ctx.clock.now() + ctx.options.pollIntervalMs, 'sub-step');
  }
}

/** "etcd-0, etcd-2 healthy (2 of 3, quorum 2 kept); the roll stops at etcd-1: …", for a failure's reason. */
function describeQuorum(view: ClusterView, step: EtcdMemberStep): string {
  const n = view.members.length;
  const healthy = view.members.filter((m) => m.healthy).map((m) => m.name);
  const quorum = quorumOf(n);
  const kept = healthy.length >= quorum ? `quorum ${quorum} kept` : `QUORUM LOST: ${quorum} needed`;
  return `${healthy.length > 0 ? healthy.join(', ') : 'no member'} healthy (${healthy.length} of ${n}, ${kept}); the roll stops at ${step.member}: no other member is touched`;
}

function sameVersion(running: string, wanted: string): boolean {
  return normalizeEtcdVersion(running) === normalizeEtcdVersion(wanted);
}
