/**
 * Where the node timings a plan estimates with came from, in words for the table and the runbook: the
 * policy file, earlier runs on this cluster (store/measured-history.ts), or the policy defaults.
 */
import { formatDuration } from '../core/index.ts';
import { seconds } from './plan-parts.ts';
import type { Plan, TimingEstimate } from './plan-types.ts';
import { defaultPolicy } from './policy.ts';

/** One line per pool when measurements were used, else one line for every pool. */
export function describeTimings(plan: Plan): string[] {
  const t = plan.policy.timings;
  const defaults = defaultPolicy().timings;
  const startup = timing({
    seconds: seconds(t.podStartup),
    source: t.podStartup === defaults.podStartup ? 'default' : 'policy',
  });
  if (!plan.estimate.timings) {
    const of = (key: 'nodeDrain' | 'nodeUpgrade') =>
      timing({ seconds: seconds(t[key]), source: t[key] === defaults[key] ? 'default' : 'policy' });
    return [`drain ${of('nodeDrain')}, upgrade ${of('nodeUpgrade')}, pod start-up ${startup}`];
  }
  return plan.estimate.timings.map(
    (p) =>
      `pool ${p.pool}: drain ${timing(p.nodeDrain)}, upgrade ${timing(p.nodeUpgrade)}` +
      `${p.nodeReady ? `, Ready ${timing(p.nodeReady)}` : ''}, pod start-up ${startup}`,
  );
}

function timing(t: TimingEstimate): string {
  const from =
    t.source === 'measured'
      ? `measured in ${t.runs} earlier run${t.runs === 1 ? '' : 's'}`
      : t.source === 'policy'
        ? 'policy'
        : 'default';
  return `${formatDuration(t.seconds * 1000)} (${from})`;
}
