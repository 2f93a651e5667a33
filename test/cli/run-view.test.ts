/**
 * The live run view on a terminal: what stays on the screen after the process has gone. The view draws
 * into a stand-in for a TTY stream; the last frame is what follows the last "move up and erase".
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRunView } from '../../src/cli/run-view.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import type { ClusterSnapshot } from '../../src/core/snapshot.ts';
import { parseVersion } from '../../src/core/versions.ts';
import type { RunEvent, RunSummary } from '../../src/engine/index.ts';
import { defaultPolicy, planUpgrade } from '../../src/plan/index.ts';

const snapshot = JSON.parse(
  readFileSync(new URL('../fixtures/snapshots/demo.json', import.meta.url), 'utf8'),
) as ClusterSnapshot;
const plan = planUpgrade(snapshot, parseVersion('v1.31.14'), defaultPolicy());
const at = { runId: 'run-1', time: 0 };

function terminal() {
  let written = '';
  const stream = {
    isTTY: true,
    columns: 120,
    write(chunk: string) {
      written += chunk;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the view's cursor movement is what is parsed.
  const lastFrame = () => written.split(/\x1b\[\d+F\x1b\[J/).at(-1)!;
  return { stream, lastFrame };
}

/** A run that has started its third phase (the control plane) and a step in it. */
function started(): RunEvent[] {
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
    ...plan.phases.slice(0, 2).flatMap((p, phase): RunEvent[] => [
      { ...at, type: 'phase-started', phase, kind: p.kind, name: p.name },
      { ...at, type: 'phase-finished', phase, kind: p.kind, name: p.name, durationMs: 1000 },
    ]),
    { ...at, type: 'phase-started', phase: 2, kind: plan.phases[2]!.kind, name: plan.phases[2]!.name },
    {
      ...at,
      type: 'step-started',
      phase: 2,
      stepId: plan.phases[2]!.steps[0]!.id,
      kind: 'control-plane',
      title: plan.phases[2]!.steps[0]!.title,
      nodes: ['cp-1'],
    },
    // A warning is printed above the block at once, which redraws it (otherwise a timer does).
    { ...at, type: 'warning', message: 'cp-1 is slow' },
  ];
}

const finished = (state: 'paused' | 'failed' | 'aborted'): RunEvent => ({
  ...at,
  type: 'run-finished',
  state,
  summary: {} as RunSummary,
});

describe('the live run view', () => {
  it.each([
    ['closed without a finish (an error, a second Ctrl-C)', [], '■'],
    ['paused', [finished('paused')], '■'],
    ['aborted', [finished('aborted')], '■'],
    ['failed', [finished('failed')], '✗'],
  ])('leaves no phase marked running when %s', (_, end, mark) => {
    const { stream, lastFrame } = terminal();
    const view = createRunView('live', plan, new VirtualClock(0), stream);
    for (const e of started()) view.onEvent(e);
    expect(lastFrame()).toContain(`▸ ${plan.phases[2]!.name}`);
    for (const e of end as RunEvent[]) view.onEvent(e);
    view.close();
    const frame = lastFrame();
    expect(frame).not.toContain('▸');
    expect(frame).toContain(`${mark} ${plan.phases[2]!.name}`);
    expect(frame).toContain(`✓ ${plan.phases[1]!.name}`);
  });
});
