/**
 * `midflight rehearse` sizes V8's heap for itself (bin/midflight.js starts the command again with
 * `--max-semi-space-size=64` and, on a machine with the memory, a larger old generation): a rehearsal's
 * garbage collection costs a third of its CPU at `large` with the default. Observed from the outside: a script preloaded through NODE_OPTIONS into every process the command
 * starts reports each one's arguments, Node flags and V8 heap limit (which grows with the young generation).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/midflight.js');

interface Probe {
  argv: string[];
  execArgv: string[];
  heapLimit: number;
}

let dir: string;
let probe: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midflight-node-flags-'));
  probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    `process.stderr.write('PROBE ' + JSON.stringify({ argv: process.argv.slice(2), execArgv: process.execArgv,
      heapLimit: require('node:v8').getHeapStatistics().heap_size_limit }) + '\\n');\n`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `midflight ARGS` with `nodeOptions` and the probe; the processes that ran the command's arguments. */
function run(args: string[], nodeOptions = ''): Promise<{ code: number; stdout: string; probes: Probe[] }> {
  const env = { ...process.env, NODE_OPTIONS: `${nodeOptions} --require ${probe}`.trim() };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const probes = stderr
        .split('\n')
        .filter((line) => line.startsWith('PROBE '))
        .map((line) => JSON.parse(line.slice(6)) as Probe)
        .filter((p) => p.argv.join(' ') === args.join(' '));
      resolve({ code: err ? Number(err.code) : 0, stdout, probes });
    });
  });
}

describe('the Node flags of midflight rehearse', () => {
  it('runs the rehearsal in a process with 64 MB semi-spaces, and passes its output and exit code on', async () => {
    const { code, stdout, probes } = await run(['rehearse', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: midflight rehearse');
    expect(probes[0]!.execArgv).toEqual([]);
    expect(probes[1]!.execArgv).toContain('--max-semi-space-size=64');
    // Note: the flag took effect in V8, not only on the command line: the heap limit counts the young generation.
    expect(probes[1]!.heapLimit).toBeGreaterThan(probes[0]!.heapLimit);

    const failed = await run(['rehearse', '--no-such-option']);
    expect(failed.code).toBe(2);
    expect(failed.probes).toHaveLength(2);
  }, 120_000);

  it.each([
    {
      name: 'heap sizes the user chose',
      args: ['rehearse', '--help'],
      nodeOptions: '--max-semi-space-size=32 --max-old-space-size=2048',
    },
    { name: 'another command', args: ['plan', '--help'], nodeOptions: '' },
  ])(
    'starts no second process for $name',
    async ({ args, nodeOptions }) => {
      const { code, probes } = await run(args, nodeOptions);
      expect(code).toBe(0);
      expect(probes).toHaveLength(1);
    },
    60_000,
  );
});
