/**
 * The one way midflight runs a shell command (the command provider, policy hooks).
 *
 * - The command runs in its own process group, so that stopping it stops what it started (ssh, kubeadm…).
 * - A timeout or the run's stop signal sends SIGTERM to the group; whatever is still alive after a grace
 *   period gets SIGKILL: a command that ignores SIGTERM cannot hang the run.
 * - Its output goes to a file, not to a pipe: if midflight itself is killed, the command goes on writing
 *   and finishes its work (a pipe would break under it, and an `ssh … kubeadm upgrade` would be cut
 *   midway). Midflight follows the file and hands over each complete line, a line written in several
 *   pieces arriving whole.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { OutputTail } from './upgrade-provider.ts';

export interface RunCommandOptions {
  /** A /bin/sh script. */
  script: string;
  /** Environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Wall-clock ms before the command is stopped; 0 = no limit. */
  timeoutMs: number;
  /** Stops the command when it fires (the run is stopping). */
  signal?: AbortSignal;
  /** Wall-clock ms between SIGTERM and SIGKILL of the process group. Default 10 s. */
  killGraceMs?: number;
  /** The file the output (stdout and stderr) is appended to; its folder is created if missing. */
  outputFile: string;
  /**
   * Each line of output, as soon as it is complete; blank lines are left out. If it throws (the run's log
   * cannot be written), the command is stopped and runCommand rejects with that error.
   */
  onLine(line: string): void;
}

export interface CommandOutcome {
  /** The exit status, or null when a signal ended the command. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when midflight stopped the command: its deadline passed, or the run is stopping. */
  stoppedFor?: 'timeout' | 'abort';
}

export const DEFAULT_KILL_GRACE_MS = 10_000;

/** The command could not be started: no shell, no output file. Its `cause` says why. */
export class CommandNotStartedError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'CommandNotStartedError';
  }
}

/** How often the output file is read while the command runs (wall ms). */
const FOLLOW_INTERVAL_MS = 100;
/** A "line" longer than this (a progress bar redrawn with \r, binary noise) is handed over in pieces. */
const MAX_LINE_CHARS = 16 * 1024;

/**
 * Runs `script` to its end (or until it is stopped and killed). Rejects with CommandNotStartedError when it
 * cannot be started, or with what `onLine` threw. An already aborted signal starts nothing.
 */
export function runCommand(options: RunCommandOptions): Promise<CommandOutcome> {
  if (options.signal?.aborted) return Promise.resolve({ code: null, signal: null, stoppedFor: 'abort' });
  let writeFd: number;
  try {
    mkdirSync(dirname(options.outputFile), { recursive: true });
    writeFd = openSync(options.outputFile, 'a', 0o600);
  } catch (err) {
    return Promise.reject(new CommandNotStartedError(err));
  }
  let consumerError: { error: unknown } | undefined;
  let stopForConsumer = () => {};
  const follower = new OutputFollower(options.outputFile, fstatSync(writeFd).size, (line) => {
    if (consumerError) return;
    try {
      options.onLine(line);
    } catch (error) {
      consumerError = { error };
      stopForConsumer();
    }
  });
  return new Promise<CommandOutcome>((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('/bin/sh', ['-c', options.script], {
        env: options.env ?? process.env,
        cwd: options.cwd,
        detached: true,
        stdio: ['ignore', writeFd, writeFd],
      });
    } catch (err) {
      follower.finish();
      reject(new CommandNotStartedError(err));
      return;
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(writeFd);
    }
    const grace = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    let stoppedFor: CommandOutcome['stoppedFor'];
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stop = (why: 'timeout' | 'abort') => {
      if (stoppedFor) return;
      stoppedFor = why;
      signalGroup('SIGTERM');
      // IMPORTANT: SIGKILL the whole group even if the shell itself has exited by then: a child that ignored
      // SIGTERM would otherwise live on. Unref'd: it must not keep midflight alive once everything else is done.
      killTimer = setTimeout(() => signalGroup('SIGKILL'), grace);
      killTimer.unref();
    };
    // IMPORTANT: wall-clock timers on purpose: the command runs in real time whatever the run's clock does.
    const deadline = options.timeoutMs > 0 ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
    const onAbort = () => stop('abort');
    stopForConsumer = onAbort;
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const following = setInterval(() => follower.read(), FOLLOW_INTERVAL_MS);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(deadline);
      clearInterval(following);
      options.signal?.removeEventListener('abort', onAbort);
      follower.finish();
      return true;
    };
    child.on('error', (err) => {
      clearTimeout(killTimer);
      if (settle()) reject(new CommandNotStartedError(err));
    });
    // Note: 'exit', not 'close': with no pipes there is nothing to wait for, and a background process the
    // command left behind must not hold the run.
    child.on('exit', (code, sig) => {
      if (!settle()) return;
      if (consumerError) reject(consumerError.error);
      else resolve({ code, signal: sig, ...(stoppedFor ? { stoppedFor } : {}) });
    });
  });
}

/** Reads what a command appends to its output file, from where it started, and splits it into lines. */
class OutputFollower {
  private readonly fd: number;
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(64 * 1024);
  private partial = '';

  constructor(
    path: string,
    private position: number,
    private readonly onLine: (line: string) => void,
  ) {
    this.fd = openSync(path, 'r');
  }

  read(): void {
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
      if (n === 0) return;
      this.position += n;
      this.push(this.decoder.write(this.buffer.subarray(0, n)));
    }
  }

  /** The rest of the output, the last line included even without its newline. */
  finish(): void {
    this.read();
    this.push(this.decoder.end());
    this.emit(this.partial);
    this.partial = '';
    closeSync(this.fd);
  }

  private push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
    while (this.partial.length > MAX_LINE_CHARS) {
      this.emit(this.partial.slice(0, MAX_LINE_CHARS));
      this.partial = this.partial.slice(MAX_LINE_CHARS);
    }
  }

  private emit(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() !== '') this.onLine(text);
  }
}

export interface LoggedCommandOptions extends Omit<RunCommandOptions, 'onLine'> {
  /** Each line of output (blank ones left out). */
  log(line: string): void;
  /** Lines of output kept for the failure message. */
  tailLines: number;
}

export interface CommandResult {
  /**
   * Undefined when the command exited 0; else how it ended, as the end of a sentence, with its last lines:
   * "timed out after 30s: upgrading kubelet", "exited with status 3: …", "could not be started: …".
   */
  failure?: string;
  /** False when it could not even be started (a misconfiguration: trying again will not help). */
  started: boolean;
  /** The exit status (null: killed, or never started). */
  code: number | null;
  /** The last `tailLines` lines of output. */
  tail: string[];
}

/** runCommand for a command the run depends on: each line to `log`, the last ones kept, its end in words. */
export async function runLoggedCommand(options: LoggedCommandOptions): Promise<CommandResult> {
  const { log, tailLines, ...run } = options;
  const tail = new OutputTail(tailLines);
  let outcome: CommandOutcome;
  try {
    outcome = await runCommand({
      ...run,
      onLine: (line) => {
        tail.push(line);
        log(line);
      },
    });
  } catch (err) {
    if (!(err instanceof CommandNotStartedError)) throw err;
    return { failure: `could not be started: ${err.message}`, started: false, code: null, tail: [] };
  }
  const lines = tail.get();
  if (outcome.code === 0 && !outcome.stoppedFor) return { started: true, code: 0, tail: lines };
  const last = lines.slice(-3).join(' | ');
  return {
    failure: `${describeEnd(outcome, options.timeoutMs)}${last ? `: ${last}` : ''}`,
    started: true,
    code: outcome.code,
    tail: lines,
  };
}

/** How a command that did not succeed ended, as the end of a sentence: "timed out after 30s". */
function describeEnd(outcome: CommandOutcome, timeoutMs: number): string {
  if (outcome.stoppedFor === 'timeout') return `timed out after ${timeoutMs / 1000}s`;
  if (outcome.stoppedFor === 'abort') return 'was stopped: the run is stopping';
  if (outcome.code !== null) return `exited with status ${outcome.code}`;
  return `was killed by ${outcome.signal}`;
}
