import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/kube/events.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';

describe('EventRecorder', () => {
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'pdb-deadlock', timeScale: 50 });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  async function midflightEvents(namespace: string): Promise<CoreV1Event[]> {
    const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
    const list = await core.listNamespacedEvent({ namespace });
    return list.items.filter((e) => e.source?.component === 'midflight');
  }

  it('records an event on a node that kubectl describe shows', async () => {
    const recorder = new EventRecorder(sandbox.kubeConfig(), {
      clock: sandbox.box.ctx.clock,
      host: 'laptop',
    });
    await recorder.record({
      involvedObject: { kind: 'Node', name: 'general-1' },
      reason: 'UpgradeStarted',
      message: 'midflight run run-1: upgrading to v1.32.0',
    });
    const [event] = await midflightEvents('default');
    expect(event).toMatchObject({
      involvedObject: { kind: 'Node', name: 'general-1' },
      reason: 'UpgradeStarted',
      type: 'Normal',
      count: 1,
      source: { component: 'midflight', host: 'laptop' },
    });
    const described = await sandbox.kubectl('describe', 'node', 'general-1');
    expect(described.stdout).toMatch(/Normal\s+UpgradeStarted\s+.*midflight.*upgrading to v1\.32\.0/);
  });

  it('aggregates a repeated event into a count, and keeps different messages apart', async () => {
    const clock = sandbox.box.ctx.clock;
    const recorder = new EventRecorder(sandbox.kubeConfig(), { clock });
    const blocked = {
      involvedObject: { kind: 'Pod', name: 'stubborn-1', namespace: 'legacy' },
      reason: 'DrainBlocked',
      type: 'Warning' as const,
      message: 'eviction refused by PodDisruptionBudget stubborn-pdb',
    };
    const first = await recorder.record(blocked);
    await clock.sleep(5_000);
    await recorder.record(blocked);
    const third = await recorder.record(blocked);
    await recorder.record({ ...blocked, message: 'eviction refused by PodDisruptionBudget other-pdb' });

    expect(third).toEqual({ ...first, count: 3 });
    const events = await midflightEvents('legacy');
    expect(events.map((e) => [e.message, e.count]).sort()).toEqual([
      ['eviction refused by PodDisruptionBudget other-pdb', 1],
      ['eviction refused by PodDisruptionBudget stubborn-pdb', 3],
    ]);
    const aggregated = events.find((e) => e.count === 3);
    const first_ = new Date(aggregated?.firstTimestamp as Date).getTime();
    const last = new Date(aggregated?.lastTimestamp as Date).getTime();
    expect(last - first_).toBeGreaterThanOrEqual(4_000);
  });

  it('starts a new Event once the window has passed since the last repeat, and only then', async () => {
    // Note: the sandbox's clock runs 50× real time; 20 s of it between repeats leaves ample room in 60 s.
    const clock = sandbox.box.ctx.clock;
    const recorder = new EventRecorder(sandbox.kubeConfig(), { clock, aggregateWindowMs: 60_000 });
    const event = (name: string) => ({
      involvedObject: { kind: 'Node', name },
      reason: 'UpgradeWaiting',
      message: `waiting on ${name}`,
    });
    const first = await recorder.record(event('general-2'));
    await clock.sleep(20_000);
    expect(await recorder.record(event('general-2'))).toEqual({ ...first, count: 2 });
    // A record of another event in between (it may sweep the cache) changes nothing for this one.
    await clock.sleep(20_000);
    await recorder.record(event('general-3'));
    expect(await recorder.record(event('general-2'))).toEqual({ ...first, count: 3 });
    await clock.sleep(70_000);
    const fresh = await recorder.record(event('general-2'));
    expect(fresh.count).toBe(1);
    expect(fresh.name).not.toBe(first.name);
  });
});
