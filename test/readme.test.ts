/**
 * The README cannot rot: every command of its ```sh blocks runs, in order, from the repository's root,
 * as a person would type it after the demo, and must end with the exit code the README gives it.
 *
 * What the README's trailing comments tell this test (keep these markers few and honest):
 * - `exits N`: the command's expected exit code; otherwise 0.
 * - `(not run by the README test: WHY)`: skipped; on a line of its own in a block, the whole block.
 * - `(the README test runs it in the background)`: a command that serves until Ctrl-C (`sandbox start`):
 *   it is started, the test waits for its kubeconfig line, and stops it with SIGINT at the end.
 *
 * HOME is a temporary directory, so `~/.midflight` (the sandbox's kubeconfig, the state store) and
 * `~/.kube` are the test's own, and KUBECONFIG starts unset: nothing reaches the user's clusters or runs.
 * Files the commands write with `--out` in the repository are removed afterwards (and a file of the same
 * name that was there before is put back).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));

const NOT_RUN = /\(not run by the README test: [^)]+\)/;
const BACKGROUND = /\(the README test runs it in the background\)/;
const EXIT_CODE = /\bexits (\d+)\b/;

interface ReadmeCommand {
  /** The shell text, continuation lines joined, without its trailing comment. */
  command: string;
  comment: string;
  /** 1-based line in README.md, for failure messages. */
  line: number;
  mode: 'run' | 'skip' | 'background';
  expectedExit: number;
}

/** The commands of the ```sh blocks of a Markdown text, in order. */
function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  const lines = markdown.split('\n');
  let inBlock = false;
  let blockSkipped = false;
  let pending: { text: string; line: number } | undefined;
  lines.forEach((raw, index) => {
    const fence = raw.match(/^```(\S*)/);
    if (fence) {
      inBlock = !inBlock && fence[1] === 'sh';
      blockSkipped = false;
      return;
    }
    if (!inBlock) return;
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) {
      if (NOT_RUN.test(trimmed)) blockSkipped = true;
      return;
    }
    const text = pending ? `${pending.text} ${trimmed}` : trimmed;
    const line = pending?.line ?? index + 1;
    if (text.endsWith('\\')) {
      pending = { text: text.slice(0, -1).trimEnd(), line };
      return;
    }
    pending = undefined;
    // A comment starts at " # " outside quotes; the README keeps `#` out of its commands otherwise.
    const at = text.search(/\s#\s|\s#$/);
    const command = (at < 0 ? text : text.slice(0, at)).trim();
    const comment = at < 0 ? '' : text.slice(at).replace(/^\s*#\s?/, '');
    const exit = comment.match(EXIT_CODE);
    commands.push({
      command,
      comment,
      line,
      mode: blockSkipped || NOT_RUN.test(comment) ? 'skip' : BACKGROUND.test(comment) ? 'background' : 'run',
      expectedExit: exit ? Number(exit[1]) : 0,
    });
  });
  return commands;
}

interface Shell {
  home: string;
  envFile: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Runs one command with bash in the repository's root, carrying the environment from one command to the
 * next as a terminal would (`export KUBECONFIG=…`, `RUN=$(…)`).
 */
function script(shell: Shell, command: string): string {
  return `set -a\n. '${shell.envFile}'\n${command}\nrc=$?\nexport -p > '${shell.envFile}'\nexit $rc\n`;
}

function runCommand(
  shell: Shell,
  command: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script(shell, command)], {
      cwd: REPO,
      env: shell.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => {
      output += `\n[README test: killed after ${timeoutMs / 1000}s]`;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts a foreground command and resolves once it has printed `ready`. */
function startInBackground(shell: Shell, command: string, ready: RegExp, timeoutMs: number) {
  const child = spawn('bash', ['-c', script(shell, `exec ${command}`)], {
    cwd: REPO,
    env: shell.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise<void>((done) => child.on('close', () => done()));
  const started = new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`\`${command}\` did not print ${ready} in ${timeoutMs / 1000}s:\n${output}`)),
      timeoutMs,
    );
    const onData = (c: Buffer) => {
      output += c.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        done();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      fail(new Error(`\`${command}\` exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    started,
    async stop() {
      killGroup(child, 'SIGINT');
      await exited;
    },
  };
}

/** `--out FILE` arguments: files the README's commands write into the repository. */
function outputFiles(commands: readonly ReadmeCommand[]): string[] {
  const files = commands.flatMap((c) => [...c.command.matchAll(/--out\s+(\S+)/g)].map((m) => m[1]!));
  return [...new Set(files)].map((f) => resolve(REPO, f));
}

const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const COMMANDS = readmeCommands(README);

describe('README.md', () => {
  const home = mkdtempSync(join(tmpdir(), 'midflight-readme-'));
  const envFile = join(home, 'readme-test.env');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    // npm would otherwise ask the registry whether a newer npm exists, on every npx.
    npm_config_update_notifier: 'false',
  };
  delete env.KUBECONFIG;
  delete env.MIDFLIGHT_DEBUG;
  const shell: Shell = { home, envFile, env };
  const background: { stop(): Promise<void> }[] = [];
  const written = outputFiles(COMMANDS);

  beforeAll(() => {
    writeFileSync(envFile, '');
    for (const file of written) if (existsSync(file)) renameSync(file, `${file}.before-readme-test`);
  });
  afterAll(async () => {
    for (const b of background) await b.stop();
    for (const file of written) {
      rmSync(file, { force: true });
      if (existsSync(`${file}.before-readme-test`)) renameSync(`${file}.before-readme-test`, file);
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('has shell blocks, and says why of each command it does not run', () => {
    expect(COMMANDS.filter((c) => c.mode === 'run').length).toBeGreaterThan(15);
    // Few and honest: the demos and the test suite (their own tests), and the development tools.
    expect(COMMANDS.filter((c) => c.mode === 'skip').map((c) => c.command)).toEqual([
      'npm ci && npx midflight demo',
      'npx midflight demo --surge',
      'npm ci && npm test',
      'npm run build',
      'npm run typecheck',
      'npm run lint',
      'npx vitest run test/sandbox',
      'npm run bench',
    ]);
    expect(COMMANDS.filter((c) => c.mode === 'background').map((c) => c.command)).toEqual([
      'npx midflight sandbox start --scenario demo --time-scale 60',
    ]);
  });

  // Note: one test, not one per command: each command depends on the ones before it (the sandbox, KUBECONFIG,
  // the plan file, the run). Generous limits: the machine may be shared; the apply alone is about a minute.
  it('runs every command in order, each with the exit code the README gives it', async () => {
    for (const c of COMMANDS) {
      if (c.mode === 'skip') continue;
      if (c.mode === 'background') {
        const started = startInBackground(shell, c.command, /^Kubeconfig: /m, 120_000);
        background.push(started);
        await started.started;
        continue;
      }
      const { code, output } = await runCommand(shell, c.command, 600_000);
      expect(
        code,
        `README.md:${c.line}: \`${c.command}\` exited with ${code}, the README says ${c.expectedExit}:\n${output}`,
      ).toBe(c.expectedExit);
    }
  }, 1_800_000);
});
