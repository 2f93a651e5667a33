/** What the run views show while a run waits for its maintenance window. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRunView } from '../../src/cli/run-view.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import type { ClusterSnapshot } from '../../src/core/snapshot.ts';
import { parseVersion } from '../../src/core/versions.ts';
import type { RunEvent } from '../../src/engine/index.ts';
import { defaultPolicy, planUpgrade } from '../../src/plan/index.ts';

const snapshot = JSON.parse(
  readFileSync(new URL('../fixtures/snapshots/demo.json', import.meta.url), 'utf8'),
) as ClusterSnapshot;
const plan = planUpgrade(snapshot, parseVersion('v1.31.14'), defaultPolicy());
const START = Date.UTC(2026, 11, 8, 17, 50);
const OPENS = Date.UTC(2026, 11, 8, 21, 0);
const message =
  'outside the maintenance windows (tue 22:00–04:00 Europe/Paris): waiting until the next opens …';

function events(): RunEvent[] {
  const at = { runId: 'run-1', time: START };
  return [
    {
      ...at,
      type: 'run-started',
      planId: plan.id,
      source: plan.source,
      target: plan.target,
      mode: 'upgrade',
      resumed: false,
    },
    { ...at, type: 'log', level: 'info', message },
    { ...at, type: 'window-wait', untilMs: OPENS, message },
  ];
}

function stream(tty: boolean) {
  let written = '';
  const out = {
    isTTY: tty,
    columns: 160,
    write(chunk: string) {
      written += chunk;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the view's cursor movement is what is parsed.
  return { out, written: () => written, lastFrame: () => written.split(/\x1b\[\d+F\x1b\[J/).at(-1)! };
}

describe('waiting for a maintenance window', () => {
  it('the live view says how long until the window opens, and stops saying it once it has', async () => {
    const clock = new VirtualClock(START);
    const { out, lastFrame } = stream(true);
    const view = createRunView('live', plan, clock, out);
    for (const e of events()) view.onEvent(e);
    view.note('redraw');
    expect(lastFrame()).toContain(
      'waiting for the maintenance window: opens in 3h10m (2026-12-08T21:00:00.000Z)',
    );
    await clock.advance(OPENS - START);
    view.note('redraw');
    expect(lastFrame()).not.toContain('waiting for the maintenance window');
    view.close();
  });

  it('the plain lines say it once, as the engine logged it', () => {
    const { out, written } = stream(false);
    const view = createRunView('lines', plan, new VirtualClock(START), out);
    for (const e of events()) view.onEvent(e);
    view.close();
    expect(written()).toBe(`  ${message}\n`);
  });
});
