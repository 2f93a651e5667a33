import type { IncomingMessage } from 'node:http';
import { badRequest, invalid } from '../status.ts';
import { invalidValue } from './field-errors.ts';
import { isRecord } from './field-shapes.ts';
import { parseJsonBody, readBody } from './http-io.ts';

/**
 * The self-review APIs clients ask before acting: `kubectl auth can-i` (SelfSubjectAccessReview),
 * `kubectl auth can-i --list` (SelfSubjectRulesReview) and `kubectl auth whoami` (SelfSubjectReview).
 * They are create-only and store nothing, as on a real server.
 *
 * Note: the sandbox has one credential (its bearer token, or none) and it is cluster-admin, so every review
 * allows everything; the answers say so in the words of the RBAC authorizer.
 */
export const REVIEW_GROUPS = {
  'authorization.k8s.io': ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
  'authentication.k8s.io': ['selfsubjectreviews'],
} as const;

const KINDS: Record<string, string> = {
  selfsubjectaccessreviews: 'SelfSubjectAccessReview',
  selfsubjectrulesreviews: 'SelfSubjectRulesReview',
  selfsubjectreviews: 'SelfSubjectReview',
};

/** The user every request to the sandbox acts as. */
export const SANDBOX_USER = {
  username: 'sandbox-admin',
  groups: ['system:masters', 'system:authenticated'],
};

export function isReviewGroup(group: string): group is keyof typeof REVIEW_GROUPS {
  return Object.hasOwn(REVIEW_GROUPS, group);
}

/** The review resources of a group (none for other groups). */
export function reviewResources(group: string): readonly string[] {
  return isReviewGroup(group) ? REVIEW_GROUPS[group] : [];
}

export function reviewKind(resource: string): string | undefined {
  return KINDS[resource];
}

/** Answers a POSTed review: 201 with the review and its status. */
export async function answerReview(
  req: IncomingMessage,
  review: { group: string; resource: string },
): Promise<unknown> {
  const kind = KINDS[review.resource]!;
  const apiVersion = `${review.group}/v1`;
  const body = parseJsonBody(await readBody(req));
  if (!isRecord(body)) throw badRequest(`the body of a ${kind} must be a JSON object`);
  if (body.kind !== undefined && body.kind !== kind)
    throw badRequest(`expected a ${kind}, got kind ${JSON.stringify(body.kind)}`);
  const spec = isRecord(body.spec) ? body.spec : {};
  const base = { kind, apiVersion, metadata: { creationTimestamp: null } };
  switch (review.resource) {
    case 'selfsubjectaccessreviews': {
      const hasResource = isRecord(spec.resourceAttributes);
      const hasNonResource = isRecord(spec.nonResourceAttributes);
      if (hasResource === hasNonResource)
        throw invalid(
          kind,
          '',
          [
            invalidValue(
              'spec.resourceAttributes',
              spec.resourceAttributes ?? null,
              'exactly one of nonResourceAttributes or resourceAttributes must be specified',
            ),
          ],
          review.group,
        );
      return {
        ...base,
        spec,
        status: {
          allowed: true,
          reason: `RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"`,
        },
      };
    }
    case 'selfsubjectrulesreviews':
      return {
        ...base,
        spec,
        status: {
          resourceRules: [
            {
              verbs: ['create'],
              apiGroups: ['authorization.k8s.io'],
              resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
            },
            { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
          ],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      };
    default:
      return { ...base, status: { userInfo: SANDBOX_USER } };
  }
}
