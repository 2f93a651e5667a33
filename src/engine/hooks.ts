/**
 * Policy hooks: shell commands run at phase boundaries; a non-zero exit stops the run.
 *
 *   hooks:
 *     pre:  { control-plane: "./notify.sh starting {phase}", all: "./check-oncall.sh" }
 *     post: { node-pool: "./smoke-test.sh" }
 *     backup: "etcdctl snapshot save /backups/{runId}.db"   # makes the etcd-backup phase run it
 *     timeout: 10m
 *
 * Placeholders {phase} {runId} {target} {kubeconfig} are shell-quoted; the same values are in the
 * environment as MIDFLIGHT_PHASE, MIDFLIGHT_RUN_ID, MIDFLIGHT_TARGET and KUBECONFIG.
 */
import { parseDuration } from '../core/index.ts';
import { PHASE_KINDS } from '../plan/index.ts';
import { runLoggedCommand, shellQuote } from '../providers/index.ts';
import { HookFailedError, PlanRejectedError } from './errors.ts';

export interface Hooks {
  pre: Record<string, string>;
  post: Record<string, string>;
  backup?: string;
  timeoutMs: number;
}

const HOOK_KEYS = [...PHASE_KINDS, 'all'];

/** Parses policy.hooks; throws PlanRejectedError naming the field. */
export function hooksOf(raw: Record<string, unknown>): Hooks {
  const problems: string[] = [];
  const hooks: Hooks = { pre: {}, post: {}, timeoutMs: 10 * 60_000 };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'pre' || key === 'post') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push(`hooks.${key}: must map a phase kind (or "all") to a command`);
        continue;
      }
      for (const [phase, cmd] of Object.entries(value)) {
        if (!HOOK_KEYS.includes(phase))
          problems.push(`hooks.${key}.${phase}: unknown phase (known: ${HOOK_KEYS.join(', ')})`);
        else if (typeof cmd !== 'string' || cmd.trim() === '')
          problems.push(`hooks.${key}.${phase}: must be a command`);
        else hooks[key][phase] = cmd;
      }
    } else if (key === 'backup') {
      if (typeof value !== 'string' || value.trim() === '') problems.push('hooks.backup: must be a command');
      else hooks.backup = value;
    } else if (key === 'timeout') {
      try {
        hooks.timeoutMs = parseDuration(value as string);
      } catch {
        problems.push('hooks.timeout: must be a duration such as 5m');
      }
    } else problems.push(`hooks.${key}: unknown field (known: pre, post, backup, timeout)`);
  }
  if (problems.length > 0)
    throw new PlanRejectedError(
      'invalid-policy',
      `the policy's hooks are not valid: ${problems.join('; ')}`,
      problems,
    );
  return hooks;
}

export interface HookContext {
  name: string;
  phase: string;
  runId: string;
  target: string;
  kubeconfigPath?: string;
  /** Where the hook's output goes (the run's output log for this hook). */
  outputFile: string;
  /** Stops the hook (SIGTERM, then SIGKILL after the grace) when the run is stopping. */
  signal?: AbortSignal;
  log(line: string): void;
}

/** Runs one hook command; resolves on exit 0, else throws HookFailedError with the output's last lines. */
export async function runHook(
  command: string,
  ctx: HookContext,
  timeoutMs: number,
  options: { killGraceMs?: number } = {},
): Promise<void> {
  const values: Record<string, string> = {
    phase: ctx.phase,
    runId: ctx.runId,
    target: ctx.target,
    kubeconfig: ctx.kubeconfigPath ?? '',
  };
  const rendered = command.replace(/\{(phase|runId|target|kubeconfig)\}/g, (_, k: string) =>
    shellQuote(values[k]!),
  );
  ctx.log(`hook ${ctx.name}: $ ${rendered}`);
  const result = await runLoggedCommand({
    script: rendered,
    env: {
      ...process.env,
      MIDFLIGHT_PHASE: ctx.phase,
      MIDFLIGHT_RUN_ID: ctx.runId,
      MIDFLIGHT_TARGET: ctx.target,
      ...(ctx.kubeconfigPath ? { KUBECONFIG: ctx.kubeconfigPath } : {}),
    },
    // A timeout of 0 means no limit, as for the command provider.
    timeoutMs,
    killGraceMs: options.killGraceMs,
    signal: ctx.signal,
    outputFile: ctx.outputFile,
    tailLines: 20,
    log: (line) => ctx.log(line),
  });
  if (result.failure === undefined) return;
  throw new HookFailedError(ctx.name, result.code, `hook ${ctx.name} ${result.failure}`, result.tail, {
    failureClass: result.started ? 'transient' : 'permanent',
  });
}
