/**
 * The etcd-backup phase, before the first control-plane step. In order:
 * 1. hooks.backup, when the policy sets it: the user's own way (on a managed cluster, e.g. a Velero export);
 * 2. etcdBackup.endpoints (and cacert/cert/key) from the policy: save → verify (→ drill) with Midflight;
 * 3. a sandbox: kept in etcd (`sandbox start --etcd`), that etcd, as a real cluster's; in memory, its
 *    store, saved and drilled through its admin API (the same flow, so the demo never goes without a backup);
 * 4. etcd static pods (kubeadm): their client URLs, and kubeadm's certificates on this machine;
 * 5. none of these: a managed control plane with no hook; the phase says so plainly and is skipped.
 */
import { existsSync } from 'node:fs';
import {
  drillBackup,
  drillStoreBackup,
  KUBEADM_ETCD_TLS,
  resolveBackupDir,
  type StoreDrillAnswer,
  saveBackup,
  saveStoreBackup,
  verifyBackup,
} from '../backup/index.ts';
import type { EtcdTls } from '../etcd/index.ts';
import { readEtcdClientUrls, requestRaw } from '../kube/index.ts';
import type { PlanStep } from '../plan/index.ts';
import { etcdBackupsDir } from '../store/index.ts';
import { StepFailedError } from './errors.ts';
import { runHook } from './hooks.ts';
import type { RunContext } from './run-context.ts';

export async function backupStep(ctx: RunContext, step: PlanStep): Promise<'done' | 'skipped'> {
  const policy = ctx.plan.policy.etcdBackup;
  const say = (message: string) => ctx.log('info', message, { stepId: step.id });
  if (ctx.options.skipEtcdBackup) {
    say(`etcd backup skipped: ${ctx.options.skipEtcdBackup}`);
    return 'skipped';
  }
  if (ctx.hooks.backup) {
    await runHook(
      ctx.hooks.backup,
      {
        name: 'backup',
        phase: 'etcd-backup',
        runId: ctx.runId,
        target: ctx.plan.target,
        kubeconfigPath: ctx.deps.kubeconfigPath,
        outputFile: ctx.outputFile('hook-backup'),
        signal: ctx.fatal.signal,
        log: say,
      },
      ctx.hooks.timeoutMs,
    );
    return 'done';
  }
  const dir = policy.dir ? resolveBackupDir(policy.dir) : etcdBackupsDir(ctx.store.path);
  if (policy.endpoints?.length) {
    say(`etcd backup: members from etcdBackup.endpoints (${policy.endpoints.join(', ')})`);
    await etcdBackup(ctx, step, policy.endpoints, tlsOfPolicy(policy), dir);
    return 'done';
  }
  const sandbox = await sandboxStorage(ctx);
  if (sandbox?.etcd) {
    say(`etcd backup: a sandbox cluster kept in etcd at ${sandbox.etcd}`);
    await etcdBackup(ctx, step, [sandbox.etcd], undefined, dir);
    return 'done';
  }
  const snapshot = sandbox ? await sandboxStoreSnapshot(ctx) : undefined;
  if (snapshot !== undefined) {
    say('etcd backup: a sandbox cluster: its in-memory store, through its admin API');
    await sandboxBackup(ctx, step, snapshot, dir);
    return 'done';
  }
  const found = await readEtcdClientUrls(ctx.deps.kc, ctx.clock);
  if (found.length > 0) {
    const tls = tlsOfPolicy(policy) ?? KUBEADM_ETCD_TLS;
    const missing = [tls.cacert, tls.cert, tls.key].filter((f): f is string => !!f && !existsSync(f));
    if (missing.length > 0)
      throw new StepFailedError(
        step.id,
        undefined,
        `etcd backup: etcd found the kubeadm way at ${found.join(', ')}, but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not on this machine: run midflight on a control-plane node, or set etcdBackup.cacert/cert/key in the policy (or hooks.backup, or etcdBackup.enabled: false to go without)`,
        false,
      );
    say(`etcd backup: members found the kubeadm way (etcd static pods): ${found.join(', ')}`);
    await etcdBackup(ctx, step, found, tls, dir);
    return 'done';
  }
  ctx.log(
    'warn',
    'etcd backup skipped: the provider manages etcd (no etcd static pods, no etcdBackup.endpoints) and hooks.backup is not set: Midflight has no access to etcd; set hooks.backup (e.g. a Velero backup) to take one',
    { stepId: step.id },
  );
  return 'skipped';
}

function tlsOfPolicy(policy: RunContext['plan']['policy']['etcdBackup']): EtcdTls | undefined {
  if (!policy.cacert && !policy.cert) return undefined;
  return {
    ...(policy.cacert ? { cacert: policy.cacert } : {}),
    ...(policy.cert ? { cert: policy.cert } : {}),
    ...(policy.key ? { key: policy.key } : {}),
  };
}

/** save → verify (→ drill) against real etcd members; any failure stops the run before the control plane. */
async function etcdBackup(
  ctx: RunContext,
  step: PlanStep,
  endpoints: string[],
  tls: EtcdTls | undefined,
  dir: string,
) {
  const say = (message: string) => ctx.log('info', message, { stepId: step.id });
  const failed = (what: string, err: unknown, retryable: boolean) =>
    new StepFailedError(
      step.id,
      undefined,
      `etcd backup: ${what}: ${(err as Error).message ?? err}`,
      retryable,
      {
        cause: err,
      },
    );
  const saved = await saveBackup({
    endpoints,
    ...(tls ? { tls } : {}),
    dir,
    clock: ctx.clock,
    runId: ctx.runId,
  }).catch((err) => {
    throw failed('save', err, true);
  });
  const m = saved.metadata;
  say(
    `etcd backup: saved ${saved.file} (${m.size} bytes, revision ${m.revision}, ${m.keys} keys) from ${m.member.name || m.member.id} (${m.member.endpoint})`,
  );
  const verified = await verifyBackup({ file: saved.file, record: { clock: ctx.clock } });
  if (!verified.ok) throw failed('verify', new Error(verified.problems.join('; ')), true);
  say(`etcd backup: verified ${saved.file}${verified.notes.length ? ` (${verified.notes.join('; ')})` : ''}`);
  if (!ctx.plan.policy.etcdBackup.drill) return;
  const report = await drillBackup({ file: saved.file, clock: ctx.clock, record: true }).catch((err) => {
    throw failed('drill', err, false);
  });
  if (!report.ok) throw failed('drill', new Error(report.problems.join('; ')), false);
  say(
    `etcd backup: drill passed: restored in ${report.restoreMs} ms, a scratch etcd served revision ${report.revision} with ${report.keys} keys`,
  );
}

/**
 * Where a sandbox keeps its objects (`etcd`: the etcd's URL; none: in memory), read from its summary; undefined
 * when the cluster is no sandbox (it answers 404), so a real cluster is asked once, not once per kind of store.
 */
async function sandboxStorage(ctx: RunContext): Promise<{ etcd?: string } | undefined> {
  const res = await requestRaw(ctx.deps.kc, 'GET', '/sandbox/v1/summary', { timeoutMs: 30_000 });
  if (res.status !== 200) return undefined;
  const etcd = (JSON.parse(res.body) as { storage?: { etcd?: string | null } }).storage?.etcd;
  return etcd ? { etcd } : {};
}

/** The sandbox's store snapshot, or undefined when the cluster is not a sandbox (it answers 404). */
async function sandboxStoreSnapshot(ctx: RunContext): Promise<string | undefined> {
  const res = await requestRaw(ctx.deps.kc, 'GET', '/sandbox/v1/store/snapshot', { timeoutMs: 60_000 });
  return res.status === 200 ? res.body : undefined;
}

/** The sandbox's store: save → verify → drill, the drill loading it into a scratch store in the sandbox. */
async function sandboxBackup(ctx: RunContext, step: PlanStep, snapshot: string, dir: string) {
  const say = (message: string) => ctx.log('info', message, { stepId: step.id });
  const cluster = ctx.deps.kc.getCurrentCluster()?.server ?? 'sandbox';
  const saved = saveStoreBackup({ dir, clock: ctx.clock, runId: ctx.runId, snapshot, endpoint: cluster });
  say(
    `etcd backup: saved ${saved.file} (${saved.metadata.size} bytes, revision ${saved.metadata.revision}, ${saved.metadata.keys} objects)`,
  );
  const verified = await verifyBackup({ file: saved.file, record: { clock: ctx.clock } });
  if (!verified.ok)
    throw new StepFailedError(
      step.id,
      undefined,
      `etcd backup: verify: ${verified.problems.join('; ')}`,
      true,
    );
  say(`etcd backup: verified ${saved.file}`);
  const report = await drillStoreBackup({
    file: saved.file,
    clock: ctx.clock,
    load: async (text) => {
      const res = await requestRaw(ctx.deps.kc, 'POST', '/sandbox/v1/store/drill', {
        body: JSON.parse(text),
        timeoutMs: 120_000,
      });
      if (res.status !== 200 && res.status !== 422)
        throw new StepFailedError(
          step.id,
          undefined,
          `etcd backup: drill: the sandbox answered ${res.status}: ${res.body.slice(0, 200)}`,
          true,
        );
      return JSON.parse(res.body) as StoreDrillAnswer;
    },
  });
  if (!report.ok)
    throw new StepFailedError(step.id, undefined, `etcd backup: drill: ${report.problems.join('; ')}`, false);
  say(
    `etcd backup: drill passed: a scratch store holds revision ${report.revision} with ${report.keys} objects (e.g. ${report.sampleKeys.slice(0, 3).join(', ')})`,
  );
}
