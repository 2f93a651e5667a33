/**
 * What a midflight process leaves behind when it dies, and what it does when its reader does: a provider
 * command outlives a SIGKILLed `apply` and finishes its upgrade (its output goes to a file, not to a pipe
 * that dies with apply); the private kubeconfig copy is in the state directory (0600), never in the temp
 * directory, and the next start deletes the dead process's copy; a closed stdout ends a command quietly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlanYaml } from '../../src/plan/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  expectUpgraded,
  nodes,
  planFor,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from '../engine/engine-harness.ts';
import { runCli } from './run-cli.ts';

const BIN = join(import.meta.dirname, '../../bin/midflight.js');
const TARGET = 'v1.31.2';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** Starts the CLI as its own process; resolves with how it ended. */
function startMidflight(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const done = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}

/**
 * Polls `check` every 200 ms of wall time until it answers. Note: the limit is only there so that a
 * regression fails instead of hanging; it is far above what a loaded machine needs.
 */
async function eventually<T>(what: string, check: () => T | undefined, limitMs = 90_000): Promise<T> {
  for (let waited = 0; waited < limitMs; waited += 200) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The sandbox's bearer token (test/e2e/sandbox-harness.ts), which every kubeconfig copy holds. */
const TOKEN = 'test-token';

/** The files under `dir` whose content contains `secret`. */
function filesHolding(dir: string, secret: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((path) => readFileSync(path, 'utf8').includes(secret));
}

describe('an apply killed while its provider command runs', () => {
  let sandbox: RunningSandbox;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startCluster(WORKERS_CLUSTER);
    dir = mkdtempSync(join(tmpdir(), 'midflight-killed-'));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the command finishes the upgrade, its output is in the run folder, and no secret is left in the temp directory', async () => {
    const stateDir = join(dir, 'state');
    const state = join(stateDir, 'state.db');
    const marks = join(dir, 'marks');
    const privateTmp = join(dir, 'tmp');
    mkdirSync(marks);
    mkdirSync(privateTmp);
    // The sleep leaves the test time to kill apply once the command has started: the upgrade and its
    // output then happen after apply is gone, as an `ssh … kubeadm upgrade` outlives a killed midflight.
    const command =
      `echo started > ${marks}/started-{node}; sleep 2; ` +
      `${process.execPath} ${BIN} --kubeconfig {kubeconfig} sandbox upgrade-node {node} --to {version}; ` +
      `echo "exit $?" > ${marks}/exit-{node}`;
    const policy = testPolicy({
      canary: { nodes: 1, soak: '10s' },
      timings: { waveSoak: '0s' },
      provider: { kind: 'command', command, timeout: '5m' },
    });
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, TARGET, policy)));
    const common = ['--kubeconfig', sandbox.kubeconfigPath, '--state', state, '--sandbox-clock'];

    const apply = startMidflight(['apply', planPath, ...common, '--lease-duration', '2'], {
      TMPDIR: privateTmp,
    });
    const started = await eventually('the first provider command', () =>
      readdirSync(marks).find((f) => f.startsWith('started-')),
    );
    const node = started.slice('started-'.length);
    // The private kubeconfig copy: in the state directory, readable by its owner only.
    const copies = readdirSync(join(stateDir, 'kubeconfigs'));
    expect(copies).toEqual([
      expect.stringMatching(new RegExp(`^${apply.child.pid}-[0-9a-f]+\\.kubeconfig$`)),
    ]);
    expect(statSync(join(stateDir, 'kubeconfigs', copies[0]!)).mode & 0o777).toBe(0o600);

    apply.child.kill('SIGKILL');
    expect((await apply.done).signal).toBe('SIGKILL');

    // The provider command carries on: the upgrade ends, and the command exits 0 instead of dying of EPIPE.
    const exit = await eventually('the provider command to end', () =>
      existsSync(join(marks, `exit-${node}`))
        ? readFileSync(join(marks, `exit-${node}`), 'utf8').trim()
        : undefined,
    );
    expect(exit).toBe('exit 0');
    expect((await nodes(sandbox)).find((n) => n.name === node)?.version).toBe(TARGET);
    const runId = JSON.parse((await runCli('history', '--state', state, '-o', 'json')).stdout)[0]
      .id as string;
    expect(readFileSync(join(stateDir, 'runs', runId, `upgrade-${node}.log`), 'utf8')).toContain(
      `node/${node} upgraded to ${TARGET}`,
    );
    // Nothing with credentials was written to the temp directory (tsx keeps its compile cache there).
    expect(filesHolding(privateTmp, TOKEN)).toEqual([]);

    // The next start deletes the dead process's copy, and the run resumes to its end (once the dead
    // process's 2 s lease has expired).
    let resumed = await startMidflight(['resume', runId, ...common], { TMPDIR: privateTmp }).done;
    for (let i = 0; i < 20 && resumed.out.includes('holds lease'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      resumed = await startMidflight(['resume', runId, ...common], { TMPDIR: privateTmp }).done;
    }
    expect(resumed.out).toMatch(/succeeded/);
    expect(resumed.code).toBe(0);
    await expectUpgraded(sandbox, TARGET);
    expect(readdirSync(join(stateDir, 'kubeconfigs'))).toEqual([]);
    expect(filesHolding(privateTmp, TOKEN)).toEqual([]);
  }, 300_000);
});

describe('a reader that goes away', () => {
  it.each([['sandbox', 'scenarios'], ['history', '--state', ':memory:'], ['--help']])(
    '`midflight %s` with its output closed ends quietly',
    async (...args) => {
      const { child, done } = startMidflight(args);
      // As `| head -1` does once it has its line: every write midflight makes then fails with EPIPE.
      child.stdout?.destroy();
      const exit = await done;
      expect(exit.out).toBe('');
      expect(exit.code).toBe(0);
    },
    60_000,
  );
});
