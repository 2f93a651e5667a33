import type { IncomingMessage } from 'node:http';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, never>;
  subresource?: string;
}

/**
 * Who is writing: the `fieldManager` query parameter, else the program name at the start of the User-Agent
 * (`kubectl/v1.32.4 (linux/amd64) …` → `kubectl`), as the real server derives it.
 */
export function fieldManagerOf(req: IncomingMessage, query: URLSearchParams): string {
  const explicit = query.get('fieldManager');
  if (explicit) return explicit;
  const ua = req.headers['user-agent'] ?? '';
  const program = ua.split('/')[0]?.trim() ?? '';
  return (program || 'unknown').slice(0, 128);
}

/**
 * Records a client write in `metadata.managedFields` (mutating `obj`, a fresh copy): one entry per manager,
 * operation and subresource, refreshed with the request's apiVersion and time. Preflight reads these
 * apiVersions to find clients still using removed APIs, so the version is the one the request used.
 */
export function recordManagedFields(
  obj: KubeObject,
  previous: KubeObject | undefined,
  entry: {
    manager: string;
    operation: 'Update' | 'Apply';
    apiVersion: string;
    now: number;
    subresource?: string;
  },
): void {
  const entries = ((previous?.metadata.managedFields ?? []) as ManagedFieldsEntry[]).filter(
    (e) =>
      !(
        e.manager === entry.manager &&
        e.operation === entry.operation &&
        e.subresource === entry.subresource
      ),
  );
  entries.push({
    manager: entry.manager,
    operation: entry.operation,
    apiVersion: entry.apiVersion,
    time: rfc3339(entry.now),
    fieldsType: 'FieldsV1',
    fieldsV1: {},
    ...(entry.subresource ? { subresource: entry.subresource } : {}),
  });
  obj.metadata.managedFields = entries;
}
