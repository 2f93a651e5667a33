/**
 * How a new node of a pool is recognised once it registers, from the policy (`nodeProvider.newNodes`): a
 * label selector and/or a name pattern, each with `{pool}` filled in. A cloud names its machines after the
 * group (`gke-prod-general-8f3a-xk2p`) and labels them with it (`cloud.google.com/gke-nodepool=general`).
 */
import { matchesRequirements, parseLabelSelector } from '../core/index.ts';

export interface NewNodeRule {
  /** A label selector, e.g. "cloud.google.com/gke-nodepool={pool}". */
  selector?: string;
  /** A name with `*` for any run of characters, e.g. "{pool}-*". */
  namePattern?: string;
}

/** Whether a node (its name and labels) is one of `pool`'s by the rule; a rule with neither matches none. */
export function matchesNewNodeRule(
  rule: NewNodeRule,
  pool: string,
  node: { name: string; labels: Record<string, string> },
): boolean {
  if (rule.selector === undefined && rule.namePattern === undefined) return false;
  if (rule.selector !== undefined) {
    const selector = parseLabelSelector(rule.selector.replaceAll('{pool}', pool));
    if (!matchesRequirements(selector, node.labels)) return false;
  }
  if (
    rule.namePattern !== undefined &&
    !globToRegExp(rule.namePattern.replaceAll('{pool}', pool)).test(node.name)
  )
    return false;
  return true;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}
