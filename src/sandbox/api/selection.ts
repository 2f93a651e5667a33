import { matchesRequirements, parseLabelSelector, SelectorParseError } from '../../core/index.ts';
import { badRequest } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { nodeNameEquality, parseFieldSelector } from './field-selector.ts';

/** What a list, watch or deletecollection selects: label and field selectors of the query string. */
export interface Selection {
  filter?: (obj: KubeObject) => boolean;
  /** Set for pods selected by `spec.nodeName=X`, which the store's node index answers. */
  nodeName?: string;
}

export function selectionFromQuery(resource: string, query: URLSearchParams): Selection {
  let labels: ReturnType<typeof parseLabelSelector>;
  try {
    labels = parseLabelSelector(query.get('labelSelector') ?? '');
  } catch (err) {
    if (err instanceof SelectorParseError) throw badRequest(err.message);
    throw err;
  }
  const fields = parseFieldSelector(resource, query.get('fieldSelector'));
  const checks: Array<(obj: KubeObject) => boolean> = [];
  if (labels.length) checks.push((obj) => matchesRequirements(labels, obj.metadata.labels));
  if (fields.requirements.length) checks.push((obj) => fields.matches(obj));
  return {
    filter:
      checks.length === 0
        ? undefined
        : checks.length === 1
          ? checks[0]
          : (obj) => checks.every((c) => c(obj)),
    nodeName: resource === 'pods' ? nodeNameEquality(fields) : undefined,
  };
}
