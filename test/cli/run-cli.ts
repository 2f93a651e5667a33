import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli/program.ts';

const BIN = join(import.meta.dirname, '../../bin/midflight.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `midflight ARGS…` in-process, capturing what it writes. */
export async function runCli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'midflight', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A kubeconfig like the given one whose server is a closed local port. */
export function closedPortKubeconfig(kubeconfig: string): string {
  return kubeconfig.replace(/server: https?:\/\/[^\s]+/, 'server: https://127.0.0.1:1');
}

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr as they came, interleaved. */
  readonly out: string;
  /** Resolves when the process exits; `code` 137 when it was SIGKILLed, 130 for another signal. */
  exited: Promise<{ code: number; out: string; killed: boolean }>;
}

/**
 * Runs `midflight --kubeconfig KUBECONFIG ARGS…` as its own process, as a user's terminal would; with
 * `killWhen`, SIGKILLs it (kill -9) as soon as its stdout so far satisfies the predicate.
 */
export function spawnCli(
  kubeconfig: string,
  args: string[],
  options: { killWhen?: (stdout: string) => boolean } = {},
): CliProcess {
  const child = spawn(process.execPath, [BIN, '--kubeconfig', kubeconfig, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  let killed = false;
  child.stdout!.on('data', (d) => {
    out += d;
    stdout += d;
    if (options.killWhen && !killed && options.killWhen(stdout)) killed = child.kill('SIGKILL');
  });
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number; out: string; killed: boolean }>((resolve) =>
    child.on('exit', (code, signal) =>
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 130), out, killed }),
    ),
  );
  return {
    child,
    get out() {
      return out;
    },
    exited,
  };
}

/**
 * `midflight --kubeconfig KUBECONFIG resume RUN ARGS…` as its own process, started again while it answers
 * that another holder has the run's lease: a killed process's lease stays until it expires
 * (`--lease-duration`). Note: the number of tries only keeps a regression from hanging; a 2 s lease needs
 * a handful.
 */
export async function resumeWhenLeaseFree(
  kubeconfig: string,
  runId: string,
  args: string[],
  options: { killWhen?: (stdout: string) => boolean } = {},
): Promise<{ code: number; out: string; killed: boolean }> {
  let resumed = await spawnCli(kubeconfig, ['resume', runId, ...args], options).exited;
  for (let i = 0; i < 40 && resumed.out.includes('holds lease'); i++) {
    await new Promise((r) => setTimeout(r, 500));
    resumed = await spawnCli(kubeconfig, ['resume', runId, ...args], options).exited;
  }
  return resumed;
}

/** The events a `-o json` run printed, one a line; a line a kill cut short is left out. */
export function jsonEvents(stdout: string): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {}
  }
  return events;
}

export interface KilledRunOptions {
  kubeconfig: string;
  planPath: string;
  /** The state store every process of the run shares. */
  state: string;
  /** Given to apply and to every resume, e.g. `--lease-duration 2 -o json`. */
  args: string[];
  /** One predicate per kill: apply is killed at the first, each resume at the next. */
  kills: Array<(stdout: string) => boolean>;
}

/**
 * `midflight apply PLAN` in its own process, SIGKILLed (kill -9) as soon as its output meets the first of
 * `kills`; then `midflight resume RUN`, killed at the next one, and so on; then resumed once more, to the
 * end. Hands back the run id, which kills happened (a process that finished before its kill was not
 * killed), each killed process's output and the last resume.
 */
export async function applyKilledAndResumed(options: KilledRunOptions) {
  const { kubeconfig, planPath, state, kills } = options;
  const args = ['--state', state, ...options.args];
  const [first, ...later] = kills;
  const applied = await spawnCli(kubeconfig, ['apply', planPath, ...args], { killWhen: first }).exited;
  const history = await runCli('history', '--state', state, '-o', 'json');
  const [run] = JSON.parse(history.stdout) as Array<{ id: string }>;
  if (!run) throw new Error(`apply recorded no run:\n${applied.out}`);
  const killed = [applied];
  for (const killWhen of later)
    killed.push(await resumeWhenLeaseFree(kubeconfig, run.id, args, { killWhen }));
  const finished = await resumeWhenLeaseFree(kubeconfig, run.id, args);
  return { runId: run.id, killed: killed.map((k) => k.killed), outputs: killed.map((k) => k.out), finished };
}
