import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import {
  CommandProvider,
  ProviderConfigError,
  ProviderError,
  providerFromPolicy,
  renderCommand,
  shellQuote,
  type UpgradeContext,
} from '../../src/providers/index.ts';

const outputDir = mkdtempSync(join(tmpdir(), 'midflight-provider-'));
afterAll(() => rmSync(outputDir, { recursive: true, force: true }));
let contexts = 0;

function context(overrides: Partial<UpgradeContext> = {}) {
  const lines: string[] = [];
  const ctx: UpgradeContext = {
    node: 'general-1',
    version: 'v1.31.2',
    previousVersion: 'v1.30.6',
    pool: 'general',
    role: 'worker',
    runId: 'run-1',
    signal: new AbortController().signal,
    outputFile: join(outputDir, `upgrade-${++contexts}.log`),
    log: (line) => lines.push(line),
    ...overrides,
  };
  return { ctx, lines };
}

describe('renderCommand', () => {
  it.each([
    ['ssh {node} kubeadm upgrade node --to {version}', 'ssh general-1 kubeadm upgrade node --to v1.31.2'],
    ['echo {pool} {role} {previousVersion} {runId}', 'echo general worker v1.30.6 run-1'],
    ['echo {node}', "echo 'it'\\''s; rm -rf /'"],
  ])('fills %s', (template, expected) => {
    const node = template === 'echo {node}' ? "it's; rm -rf /" : 'general-1';
    expect(
      renderCommand(template, {
        node,
        version: 'v1.31.2',
        previousVersion: 'v1.30.6',
        pool: 'general',
        role: 'worker',
        runId: 'run-1',
      }),
    ).toBe(expected);
  });

  it('refuses an unknown placeholder instead of running a broken command', () => {
    expect(() => renderCommand('ssh {host}', { node: 'n' })).toThrow(/unknown placeholder \{host\}/);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own ${VAR} syntax, on purpose.
  it("leaves the shell's ${VAR} to the shell", () => {
    const shellVariable = '$' + '{SSH_USER}';
    expect(renderCommand(`ssh ${shellVariable}@{node} kubeadm upgrade node`, { node: 'n 1' })).toBe(
      `ssh ${shellVariable}@'n 1' kubeadm upgrade node`,
    );
  });

  it('quotes the empty string', () => {
    expect(shellQuote('')).toBe("''");
  });
});

describe('CommandProvider', () => {
  it('sends the output to the run log and resolves on exit 0', async () => {
    const { ctx, lines } = context();
    await new CommandProvider({ command: 'echo upgrading {node} to {version}; echo done >&2' }).upgradeNode(
      ctx,
    );
    expect(lines).toContain('upgrading general-1 to v1.31.2');
    expect(lines).toContain('done');
  });

  it('fails on a non-zero exit with the last lines of output', async () => {
    const { ctx } = context();
    const provider = new CommandProvider({
      command: 'for i in 1 2 3 4 5; do echo line $i; done; exit 3',
      tailLines: 2,
    });
    const err = await provider.upgradeNode(ctx).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/exited with status 3: line 4 \| line 5/);
    expect(err.outputTail).toEqual(['line 4', 'line 5']);
  });

  it('kills a command that outlives its timeout', async () => {
    const { ctx } = context();
    // Note: no bound on the time taken: a command that was not killed would hang the test until vitest's
    // timeout, which fails it whatever the machine's speed.
    const err = await new CommandProvider({ command: 'sleep 1000', timeoutMs: 200 })
      .upgradeNode(ctx)
      .catch((e) => e);
    expect(err.message).toMatch(/timed out after 0.2s/);
  });

  it('kills a command that ignores SIGTERM once the grace period is over', async () => {
    const { ctx } = context();
    const err = await new CommandProvider({
      command: "trap '' TERM; echo ignoring TERM; sleep 1000",
      timeoutMs: 200,
      killGraceMs: 300,
    })
      .upgradeNode(ctx)
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe('upgrade command for general-1 timed out after 0.2s: ignoring TERM');
  });

  it('stops a command that ignores SIGTERM when the run stops', async () => {
    const controller = new AbortController();
    const { ctx } = context({ signal: controller.signal });
    const pending = new CommandProvider({ command: "trap '' TERM; sleep 1000", killGraceMs: 300 })
      .upgradeNode(ctx)
      .catch((e) => e);
    setTimeout(() => controller.abort(), 100);
    expect((await pending).message).toMatch(/the run is stopping/);
  });

  it('hands over a line written in pieces as one line, and the last line without its newline', async () => {
    const { ctx, lines } = context();
    await new CommandProvider({
      command: "printf 'upgrading kube'; sleep 0.3; printf 'let\\n'; printf 'done, no newline'",
    }).upgradeNode(ctx);
    expect(lines.slice(1)).toEqual(['upgrading kubelet', 'done, no newline']);
  });

  it('a command that cannot be started is a misconfiguration: permanent, not retried', async () => {
    const { ctx } = context();
    const err = await new CommandProvider({ command: 'true', cwd: join(outputDir, 'no-such-folder') })
      .upgradeNode(ctx)
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(
      /^upgrade command for general-1 could not be started: spawn \/bin\/sh ENOENT/,
    );
    expect(err.failureClass).toBe('permanent');
  });

  it('hands over a line with no end (a progress bar) in pieces, so memory stays bounded', async () => {
    const { ctx, lines } = context();
    await new CommandProvider({ command: "head -c 40000 /dev/zero | tr '\\0' x" }).upgradeNode(ctx);
    expect(lines.slice(1).map((l) => l.length)).toEqual([16_384, 16_384, 7_232]);
  });

  it("writes the command's output to the node's output file, which outlives midflight", async () => {
    const { ctx } = context();
    await new CommandProvider({ command: 'echo to stdout; echo to stderr >&2' }).upgradeNode(ctx);
    expect(readFileSync(ctx.outputFile, 'utf8')).toBe('to stdout\nto stderr\n');
  });

  it('stops when the run stops', async () => {
    const controller = new AbortController();
    const { ctx } = context({ signal: controller.signal });
    const pending = new CommandProvider({ command: 'sleep 5' }).upgradeNode(ctx).catch((e) => e);
    setTimeout(() => controller.abort(), 100);
    expect((await pending).message).toMatch(/the run is stopping/);
  });

  it('substitutes the kubeconfig path', async () => {
    const { ctx, lines } = context();
    await new CommandProvider({ command: 'echo {kubeconfig}', kubeconfigPath: '/tmp/my kube' }).upgradeNode(
      ctx,
    );
    expect(lines).toContain('/tmp/my kube');
  });
});

describe('providerFromPolicy', () => {
  const env = { kc: new KubeConfig(), clock: new VirtualClock() };
  it('builds a command provider with retries', () => {
    const s = providerFromPolicy({ kind: 'command', command: 'true', retries: 2, retryDelay: '10s' }, env);
    expect(s.provider.kind).toBe('command');
    expect(s).toMatchObject({ retries: 2, retryDelayMs: 10_000 });
  });
  it.each([
    [{ kind: 'command', command: 'true' }, false],
    [{ kind: 'command', command: 'true', skipsMinors: true }, true],
    [{ kind: 'job', image: 'up:1', command: '/upgrade.sh', skipsMinors: true }, true],
    [{ kind: 'job', image: 'up:1', command: '/upgrade.sh' }, false],
  ])('reads whether %j skips minors', (settings, skips) => {
    expect(providerFromPolicy(settings, env).provider.skipsMinors).toBe(skips);
  });
  it('builds a job provider', () => {
    expect(
      providerFromPolicy({ kind: 'job', image: 'up:1', command: '/upgrade.sh' }, env).provider.kind,
    ).toBe('job');
  });
  it.each([
    [{ kind: 'ssh' }, /provider.kind: unknown provider "ssh"/],
    [{ kind: 'command' }, /provider.command: is required/],
    [{ kind: 'command', command: 'x', retries: -1 }, /provider.retries: must be a non-negative integer/],
    [{ kind: 'command', command: 'x', timeout: 'soon' }, /provider.timeout: must be a duration/],
    [{ kind: 'job', command: 'x' }, /provider.image: is required/],
    [{ kind: 'command', command: 'x', skipsMinors: 'yes' }, /provider.skipsMinors: must be true or false/],
    [{ kind: 'job', image: 'i', command: 'x', imag: 'typo' }, /provider.imag: unknown field/],
  ])('names the wrong field in %j', (settings, message) => {
    expect(() => providerFromPolicy(settings as { kind: string }, env)).toThrow(ProviderConfigError);
    expect(() => providerFromPolicy(settings as { kind: string }, env)).toThrow(message);
  });
});
