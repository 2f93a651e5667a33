/** The etcd member provider: the policy's commands run in order, placeholders filled, a failure named by its stage. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EtcdMemberCommandProvider,
  type EtcdMemberContext,
  ProviderConfigError,
  ProviderError,
} from '../../src/providers/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-provider-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let contexts = 0;

function context(overrides: Partial<EtcdMemberContext> = {}) {
  const lines: string[] = [];
  const ctx: EtcdMemberContext = {
    member: "etcd a's",
    endpoint: 'https://10.0.0.11:2379',
    version: '3.5.17',
    signal: new AbortController().signal,
    outputFile: join(dir, `member-${++contexts}.log`),
    log: (line) => lines.push(line),
    ...overrides,
  };
  return { ctx, lines };
}

describe('EtcdMemberCommandProvider', () => {
  it('runs stop, swap and start in order, each placeholder filled and quoted', async () => {
    const trace = join(dir, 'trace-staged');
    const provider = new EtcdMemberCommandProvider({
      stop: `echo stop {member} >> ${trace}`,
      swap: `echo swap {version} >> ${trace}`,
      start: `echo start {endpoint} >> ${trace}`,
      timeout: '1m',
    });
    const { ctx, lines } = context();
    await provider.upgradeMember(ctx);
    expect(readFileSync(trace, 'utf8')).toBe("stop etcd a's\nswap 3.5.17\nstart https://10.0.0.11:2379\n");
    expect(lines[0]).toBe(`$ echo stop 'etcd a'\\''s' >> ${trace}`);
  });

  it('stops at the first stage that fails, naming it and keeping its output', async () => {
    const trace = join(dir, 'trace-failed');
    const provider = new EtcdMemberCommandProvider({
      stop: `echo stopped >> ${trace}`,
      swap: 'echo "no such binary: /opt/etcd-v{version}/etcd" >&2; exit 3',
      start: `echo started >> ${trace}`,
      timeout: '1m',
    });
    const { ctx } = context();
    const failure = await provider.upgradeMember(ctx).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ProviderError);
    expect((failure as ProviderError).message).toBe(
      "the swap command of etcd member etcd a's exited with status 3: no such binary: /opt/etcd-v3.5.17/etcd",
    );
    expect((failure as ProviderError).failureClass).toBe('transient');
    expect(readFileSync(trace, 'utf8')).toBe('stopped\n');
  });

  it('runs one command', async () => {
    const trace = join(dir, 'trace-one');
    const provider = new EtcdMemberCommandProvider({ command: `echo {member} >> ${trace}`, timeout: '1m' });
    await provider.upgradeMember(context({ member: 'etcd-b' }).ctx);
    expect(readFileSync(trace, 'utf8')).toBe('etcd-b\n');
  });

  it.each([
    [{ command: 'restart {node}', timeout: '1m' }, /^etcd\.upgrade\.command: unknown placeholder \{node\}/],
    [{ timeout: '1m' }, /^etcd\.upgrade: needs command, or stop and start/],
    [{ command: 'x', timeout: 'soon' }, /^etcd\.upgrade\.timeout: must be a duration/],
  ])('refuses settings the policy would have refused: %j', (settings, message) => {
    expect(() => new EtcdMemberCommandProvider(settings)).toThrow(ProviderConfigError);
    expect(() => new EtcdMemberCommandProvider(settings)).toThrow(message);
  });
});
