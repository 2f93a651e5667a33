/**
 * The label matchers of a step's silences, as the policy writes them (`node="{node}"`,
 * `instance=~"{node}(:[0-9]+)?"`) and as Alertmanager's v2 API takes them. Pure: no I/O.
 *
 * A silence is only ever about the node being upgraded and the alerts its upgrade sets off: a set of
 * matchers that does not name the node ({node} in a positive matcher) and the alerts (a positive
 * `alertname` matcher that does not match every name) is a blanket silence, and is refused.
 */

/** One label matcher as Alertmanager's v2 API takes it. */
export interface AlertmanagerMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** false: `!=` / `!~`. */
  isEqual: boolean;
}

/** The placeholder a matcher's value uses for the node being upgraded. */
export const NODE_PLACEHOLDER = '{node}';

/** kubernetes-mixin's alerts that a node's upgrade sets off on purpose. */
export const DEFAULT_SILENCED_ALERTS = [
  'KubeNodeNotReady',
  'KubeNodeUnreachable',
  'KubeNodeReadinessFlapping',
  'KubePodNotReady',
  'KubeDeploymentReplicasMismatch',
  'KubeStatefulSetReplicasMismatch',
  'KubeDaemonSetRolloutStuck',
  'KubeletDown',
  'TargetDown',
] as const;

/** One silence per set and node: `node="…"` for kube-state-metrics' series, `instance` for scrape targets. */
export const DEFAULT_NODE_MATCHER_SETS: readonly (readonly string[])[] = [
  ['node="{node}"'],
  ['instance=~"{node}(:[0-9]+)?"'],
];

// Note: the operators longest first, so `=~` is not read as `=` followed by a value starting with `~`.
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

export class MatcherSyntaxError extends Error {
  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`${JSON.stringify(text)}: ${reason}`);
    this.name = 'MatcherSyntaxError';
  }
}

/** `name="value"`, `name!="value"`, `name=~"regex"` or `name!~"regex"` (the value in double quotes). */
export function parseMatcher(text: string): AlertmanagerMatcher {
  const m = MATCHER.exec(text);
  if (!m)
    throw new MatcherSyntaxError(
      text,
      'must be name="value", name!="value", name=~"regex" or name!~"regex" (the value in double quotes)',
    );
  const [, name, op, quoted] = m;
  const value = quoted!.replace(/\\(.)/g, '$1');
  const isRegex = op === '=~' || op === '!~';
  if (isRegex) {
    try {
      new RegExp(value.replaceAll(NODE_PLACEHOLDER, 'node'));
    } catch (err) {
      throw new MatcherSyntaxError(text, `not a valid regular expression: ${(err as Error).message}`);
    }
  }
  return { name: name!, value, isRegex, isEqual: op === '=' || op === '=~' };
}

/** The alertname matcher every set gets from `alertnames`: `alertname=~"A|B|C"`. */
export function alertnameMatcher(alertnames: readonly string[]): AlertmanagerMatcher {
  return { name: 'alertname', value: alertnames.map(escapeRegex).join('|'), isRegex: true, isEqual: true };
}

/**
 * Why `set` (templates, before {node} is filled in) would be a blanket silence, or undefined when it is
 * scoped to one node and to named alerts.
 */
export function blanketReason(set: readonly AlertmanagerMatcher[]): string | undefined {
  const positive = set.filter((m) => m.isEqual);
  if (!positive.some((m) => m.value.includes(NODE_PLACEHOLDER)))
    return `no matcher names the node being upgraded (a positive matcher whose value uses ${NODE_PLACEHOLDER}, e.g. node="${NODE_PLACEHOLDER}"): the silence would hide every node's alerts`;
  const names = positive.filter((m) => m.name === 'alertname');
  if (names.length === 0)
    return 'no alertname matcher: the silence would hide every alert about the node, not only those its upgrade sets off (list them in alertnames)';
  if (names.every((m) => matchesAnything(m)))
    return `the alertname matcher ${describeMatcher(names[0]!)} matches any alert name: name the alerts the upgrade sets off`;
  return undefined;
}

/** The set for `node`: {node} replaced by the name, regex-escaped in a regex matcher (node names hold dots). */
export function matchersForNode(set: readonly AlertmanagerMatcher[], node: string): AlertmanagerMatcher[] {
  return set.map((m) => ({
    ...m,
    value: m.value.replaceAll(NODE_PLACEHOLDER, m.isRegex ? escapeRegex(node) : node),
  }));
}

export function describeMatcher(m: AlertmanagerMatcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A regex alertname matcher that matches the empty name or names nobody would write matches every alert:
 * Alertmanager anchors the regex, so `.*`, `.+` or `(A|.*)` do.
 */
function matchesAnything(m: AlertmanagerMatcher): boolean {
  if (!m.isRegex) return false;
  const re = new RegExp(`^(?:${m.value})$`);
  return re.test('') || re.test('ZzMidflightNoSuchAlert9');
}
