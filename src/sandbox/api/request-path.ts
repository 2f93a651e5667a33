import { isReviewGroup, reviewResources } from './access-review.ts';
import { findResource, RESOURCES, type ResourceInfo } from './resources.ts';

/** What a URL path names, before the HTTP method is considered. */
export type ApiPath =
  | { kind: 'health'; check: string }
  | { kind: 'version' }
  | { kind: 'metrics' }
  | { kind: 'openapi'; version: 'v2' | 'v3'; rest: string }
  | { kind: 'admin' }
  | { kind: 'coreVersions' }
  | { kind: 'groupList' }
  | { kind: 'group'; group: string }
  | { kind: 'resourceList'; group: string; version: string }
  | { kind: 'resource'; target: ResourceTarget }
  /** authorization.k8s.io and authentication.k8s.io self-reviews: create-only, nothing stored. */
  | { kind: 'review'; group: string; resource: string }
  | { kind: 'unknown' };

/** A resource, collection or object, and optionally a subresource of the object. */
export interface ResourceTarget {
  info: ResourceInfo;
  group: string;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const HEALTH = new Set(['/healthz', '/readyz', '/livez']);

export function parseApiPath(pathname: string): ApiPath {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  if (HEALTH.has(path) || /^\/(healthz|readyz|livez)\//.test(path)) return { kind: 'health', check: path };
  if (path === '/version') return { kind: 'version' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path.startsWith('/sandbox/v1/') || path === '/sandbox/v1') return { kind: 'admin' };
  const openapi = /^\/openapi\/(v2|v3)(\/.*)?$/.exec(path);
  if (openapi) return { kind: 'openapi', version: openapi[1] as 'v2' | 'v3', rest: openapi[2] ?? '' };
  const segments = path.split('/').slice(1).map(decodeURIComponent);
  if (segments[0] === 'api') {
    if (segments.length === 1) return { kind: 'coreVersions' };
    if (segments[1] !== 'v1') return { kind: 'unknown' };
    if (segments.length === 2) return { kind: 'resourceList', group: '', version: 'v1' };
    return resourcePath('', 'v1', segments.slice(2));
  }
  if (segments[0] === 'apis') {
    if (segments.length === 1) return { kind: 'groupList' };
    const group = segments[1]!;
    if (isReviewGroup(group)) {
      if (segments.length === 2) return { kind: 'group', group };
      if (segments[2] !== 'v1') return { kind: 'unknown' };
      if (segments.length === 3) return { kind: 'resourceList', group, version: 'v1' };
      const resource = segments[3]!;
      if (segments.length === 4 && reviewResources(group).includes(resource))
        return { kind: 'review', group, resource };
      return { kind: 'unknown' };
    }
    if (!RESOURCES.some((r) => r.group === group)) return { kind: 'unknown' };
    if (segments.length === 2) return { kind: 'group', group };
    const version = segments[2]!;
    if (!RESOURCES.some((r) => r.group === group && r.version === version)) return { kind: 'unknown' };
    if (segments.length === 3) return { kind: 'resourceList', group, version };
    return resourcePath(group, version, segments.slice(3));
  }
  return { kind: 'unknown' };
}

/**
 * The part after the group version: `pods`, `pods/NAME[/SUB]`, `namespaces/NS/pods[/NAME[/SUB]]`.
 * Note: `namespaces/NAME` and `namespaces/NAME/status` name the Namespace object itself, which is why the
 * namespaced form is only taken when the third segment is a namespaced resource.
 */
function resourcePath(group: string, version: string, rest: string[]): ApiPath {
  const unknown: ApiPath = { kind: 'unknown' };
  if (rest.some((s) => s === '')) return unknown;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = findResource(group, version, rest[2]!);
    if (info?.namespaced) {
      if (rest.length > 5) return unknown;
      return target(info, group, version, rest[1], rest[3], rest[4]);
    }
  }
  const info = findResource(group, version, rest[0]!);
  if (!info || rest.length > 3) return unknown;
  return target(info, group, version, undefined, rest[1], rest[2]);
}

function target(
  info: ResourceInfo,
  group: string,
  version: string,
  namespace: string | undefined,
  name: string | undefined,
  subresource: string | undefined,
): ApiPath {
  if (subresource !== undefined && !(info.subresources as string[]).includes(subresource))
    return { kind: 'unknown' };
  return { kind: 'resource', target: { info, group, version, namespace, name, subresource } };
}
