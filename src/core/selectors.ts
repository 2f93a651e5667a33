/**
 * Label selectors, both forms Kubernetes uses: the query-string form (`app=web,tier!=db,env in (a,b),!legacy`)
 * and the object form of PodDisruptionBudgets and workloads (`matchLabels` + `matchExpressions`).
 */
export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'Gt' | 'Lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export class SelectorParseError extends Error {
  constructor(
    readonly selector: string,
    why: string,
  ) {
    super(`unable to parse requirement: ${why} in selector "${selector}"`);
    this.name = 'SelectorParseError';
  }
}

/** Parses a label selector string; the empty string selects everything. */
export function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(selector)) {
    const term = part.trim();
    if (!term) continue;
    requirements.push(parseTerm(term, selector));
  }
  return requirements;
}

/** Splits on commas that are not inside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

const KEY = /^([a-z0-9A-Z]([a-z0-9A-Z._-]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([a-z0-9A-Z._-]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([a-z0-9A-Z._-]*[a-z0-9A-Z])?)?$/;
// As Kubernetes validates label keys (a DNS-subdomain prefix, a qualified name) and values.
const MAX_NAME_LENGTH = 63;
const MAX_PREFIX_LENGTH = 253;

function parseTerm(term: string, selector: string): Requirement {
  if (term.startsWith('!')) return requirement(term.slice(1).trim(), 'DoesNotExist', [], selector);
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = set[3]!
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    return requirement(set[1]!, set[2] === 'in' ? 'In' : 'NotIn', values, selector);
  }
  const cmp = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(term);
  if (cmp) {
    const op: Operator =
      cmp[2] === '!=' ? 'NotEquals' : cmp[2] === '<' ? 'Lt' : cmp[2] === '>' ? 'Gt' : ('Equals' as Operator);
    return requirement(cmp[1]!, op, [cmp[3]!.trim()], selector);
  }
  if (/\s/.test(term)) throw new SelectorParseError(selector, `unexpected "${term}"`);
  return requirement(term, 'Exists', [], selector);
}

function requirement(key: string, operator: Operator, values: string[], selector: string): Requirement {
  if (!KEY.test(key)) throw new SelectorParseError(selector, `invalid label key "${key}"`);
  const slash = key.indexOf('/');
  if (key.length - slash - 1 > MAX_NAME_LENGTH || slash > MAX_PREFIX_LENGTH)
    throw new SelectorParseError(
      selector,
      `invalid label key "${key}": name part must be no more than ${MAX_NAME_LENGTH} characters and prefix no more than ${MAX_PREFIX_LENGTH}`,
    );
  if (operator === 'Gt' || operator === 'Lt') {
    if (!/^-?\d+$/.test(values[0] ?? ''))
      throw new SelectorParseError(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
  } else {
    for (const v of values)
      if (!VALUE.test(v) || v.length > MAX_NAME_LENGTH)
        throw new SelectorParseError(
          selector,
          `invalid label value: "${v}": must be no more than ${MAX_NAME_LENGTH} characters of [A-Za-z0-9._-]`,
        );
  }
  return { key, operator, values };
}

export function matchesRequirements(
  requirements: Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const req of requirements) if (!matchesRequirement(req, l)) return false;
  return true;
}

function matchesRequirement(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Equals':
    case 'In':
      return has && req.values.includes(value!);
    case 'NotEquals':
    case 'NotIn':
      return !has || !req.values.includes(value!);
    case 'Gt':
    case 'Lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(req.values[0]);
      return req.operator === 'Gt' ? n > bound : n < bound;
    }
  }
}

/** Converts the object form to requirements; an unknown operator makes the selector invalid. */
export function requirementsOf(selector: LabelSelector): Requirement[] {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    reqs.push({ key, operator: 'In', values: [value] });
  for (const expr of selector.matchExpressions ?? []) {
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(expr.operator)) {
      throw new SelectorParseError(
        JSON.stringify(selector),
        `"${expr.operator}" is not a valid label selector operator`,
      );
    }
    reqs.push({ key: expr.key, operator: expr.operator as Operator, values: expr.values ?? [] });
  }
  return reqs;
}

/**
 * Whether an object-form selector matches a set of labels.
 * Note: an empty selector `{}` matches everything (as the current eviction code and PDB controller treat it);
 * a missing (undefined) selector matches nothing.
 */
export function matchesLabelSelector(
  selector: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  return matchesRequirements(requirementsOf(selector), labels);
}

/**
 * One label pair every object the selector matches must carry, to file it under in an index (the sandbox's
 * budget index, admission's budgets by label): its first matchLabels pair (keys sorted), else its first
 * `In` expression with one value (what a copied cluster's budgets use, src/rehearse); none for any other
 * selector, which an index must then treat as a candidate for every object.
 */
export function selectorAnchor(
  selector: LabelSelector | undefined | null,
): { key: string; value: string } | undefined {
  const matchLabels: unknown = selector?.matchLabels;
  if (matchLabels && typeof matchLabels === 'object') {
    const labels = matchLabels as Record<string, unknown>;
    const key = Object.keys(labels).sort()[0];
    if (key !== undefined && typeof labels[key] === 'string') return { key, value: labels[key] };
  }
  const expressions: unknown = selector?.matchExpressions;
  if (!Array.isArray(expressions)) return undefined;
  for (const e of expressions as Array<{ key?: unknown; operator?: unknown; values?: unknown }>)
    if (
      e?.operator === 'In' &&
      typeof e.key === 'string' &&
      Array.isArray(e.values) &&
      e.values.length === 1 &&
      typeof e.values[0] === 'string'
    )
      return { key: e.key, value: e.values[0] };
  return undefined;
}

/** The query-string form of an object-form selector, e.g. for `labelSelector=` in a list request. */
export function formatLabelSelector(selector: LabelSelector): string {
  return requirementsOf(selector)
    .map((r) => {
      switch (r.operator) {
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
        case 'In':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'Equals':
          return `${r.key}=${r.values[0]}`;
        case 'NotEquals':
          return `${r.key}!=${r.values[0]}`;
        case 'Gt':
          return `${r.key}>${r.values[0]}`;
        case 'Lt':
          return `${r.key}<${r.values[0]}`;
        default:
          throw new Error(`unknown operator ${r.operator satisfies never}`);
      }
    })
    .join(',');
}
