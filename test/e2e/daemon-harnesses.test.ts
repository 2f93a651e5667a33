import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { alertmanagerAvailable, startAlertmanager } from './alertmanager-harness.ts';
import { type LoopbackProcess, requireBinary } from './loopback-binary.ts';
import { prometheusAvailable, scrapeTargetOf, startPrometheus } from './prometheus-harness.ts';
import { type RunningSandbox, startSandbox } from './sandbox-harness.ts';

/** True while a process with this id exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectStoppedCleanly(proc: LoopbackProcess): Promise<void> {
  await proc.stop();
  expect(alive(proc.pid)).toBe(false);
  expect(existsSync(proc.dir)).toBe(false);
  await expect(fetch(proc.url)).rejects.toThrow();
}

describe.skipIf(!prometheusAvailable())('the Prometheus harness', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('scrapes the sandbox over TLS with its bearer token, answers PromQL, and stops without leaving anything', async () => {
    const prom = await startPrometheus({ targets: [scrapeTargetOf(sandbox.kubeConfig())] });
    try {
      expect(prom.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await prom.waitForTargetsUp();
      const [up] = await prom.query('up{job="sandbox"}');
      expect(up?.value).toBe(1);
      await expect(prom.query('sum(')).rejects.toThrow(/query sum\(: .*parse error/);
    } finally {
      await expectStoppedCleanly(prom);
    }
  });

  it('shows a target that refuses the scrape (wrong token) as down, not as data', async () => {
    const target = { ...scrapeTargetOf(sandbox.kubeConfig()), bearerToken: 'wrong' };
    const prom = await startPrometheus({ targets: [target] });
    try {
      await prom.waitFor('up{job="sandbox"}', (s) => s.length === 1 && s[0]!.value === 0);
    } finally {
      await prom.stop();
    }
  });
});

describe.skipIf(!alertmanagerAvailable())('the Alertmanager harness', () => {
  it('serves the v2 API on loopback (silences can be created and listed) and stops without leaving anything', async () => {
    const am = await startAlertmanager();
    try {
      const now = Date.now();
      const res = await fetch(`${am.url}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          matchers: [{ name: 'alertname', value: 'KubeNodeNotReady', isRegex: false, isEqual: true }],
          startsAt: new Date(now).toISOString(),
          endsAt: new Date(now + 600_000).toISOString(),
          createdBy: 'harness-test',
          comment: 'harness',
        }),
      });
      expect(res.status).toBe(200);
      const { silenceID } = (await res.json()) as { silenceID: string };
      const listed = (await (await fetch(`${am.url}/api/v2/silences`)).json()) as Array<{ id: string }>;
      expect(listed.map((s) => s.id)).toContain(silenceID);
    } finally {
      await expectStoppedCleanly(am);
    }
  });
});

describe('requireBinary', () => {
  it('skips for a missing binary with what to install, fails under CI, and passes for one that is there', () => {
    const saved = process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      delete process.env.CI;
      expect(requireBinary('/nonexistent/prometheus', 'prometheus')).toBe(false);
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining(
          'SKIPPED: /nonexistent/prometheus is missing: install the Debian package "prometheus"',
        ),
      );
      process.env.CI = 'true';
      expect(() => requireBinary('/nonexistent/prometheus', 'prometheus')).toThrow(
        /install the Debian package "prometheus".*CI must have it \(\.ci\/run installs it\)/,
      );
      expect(requireBinary('/bin/sh')).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
      warn.mockRestore();
    }
  });
});
