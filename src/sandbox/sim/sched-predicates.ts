/**
 * The node-fitting rules the scheduler and the taint manager share, as the Kubernetes component helpers
 * define them: nodeSelector and required node affinity (taints against tolerations are core/taints.ts').
 */
import type { Taint } from '../../core/index.ts';
import type { KubeObject } from '../store/types.ts';

interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** How a taint shows in the scheduler's messages: `{node.kubernetes.io/unreachable: }`. */
export function describeTaint(taint: Pick<Taint, 'key' | 'value'>): string {
  return `{${taint.key}: ${taint.value ?? ''}}`;
}

/** spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity, both required. */
export function matchesNodeSelectorAndAffinity(pod: KubeObject, node: KubeObject): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  const selector: Record<string, string> | undefined = pod.spec?.nodeSelector;
  if (selector) for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms: NodeSelectorTerm[] | undefined = required?.nodeSelectorTerms;
  if (!terms) return true;
  // Terms are ORed; the requirements inside one term are ANDed. A term with no requirements matches nothing.
  return terms.some((term) => matchesTerm(term, labels, node.metadata.name ?? ''));
}

function matchesTerm(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  for (const req of expressions) if (!matchesNodeRequirement(req, labels)) return false;
  for (const req of fields) {
    if (req.key !== 'metadata.name') return false;
    if (!matchesNodeRequirement(req, { 'metadata.name': nodeName })) return false;
  }
  return true;
}

function matchesNodeRequirement(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has && values.includes(value!);
    case 'NotIn':
      return !has || !values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1) return false;
      const n = Number.parseInt(value!, 10);
      const bound = Number.parseInt(values[0]!, 10);
      if (Number.isNaN(n) || Number.isNaN(bound)) return false;
      return req.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}
