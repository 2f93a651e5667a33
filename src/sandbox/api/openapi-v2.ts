import { RESOURCES, type ResourceInfo } from './resources.ts';

/**
 * A minimal OpenAPI v2 document for kubectl ≤ 1.28, which downloads `/openapi/v2` (as gnostic protobuf) to
 * decide whether PATCH takes `fieldValidation`: when it does, kubectl leaves validation to the server. The
 * document has one PATCH operation per resource with its group-version-kind and that parameter; no schemas,
 * so kubectl builds strategic merge patches from its built-in types.
 */
/** The response type kube-openapi sends for the protobuf form (Go's mime parser rejects the '@' of the request's). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

function objectPath(r: ResourceInfo): string {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced
    ? `${prefix}/namespaces/{namespace}/${r.resource}/{name}`
    : `${prefix}/${r.resource}/{name}`;
}

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force'];

export function openApiV2Json(): unknown {
  const paths: Record<string, unknown> = {};
  for (const r of RESOURCES) {
    paths[objectPath(r)] = {
      patch: {
        operationId: `patch${r.namespaced ? 'Namespaced' : ''}${r.kind}`,
        parameters: QUERY_PARAMETERS.map((name) => ({
          name,
          in: 'query',
          type: 'string',
          uniqueItems: true,
        })),
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: r.group, kind: r.kind, version: r.version },
      },
    };
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'unversioned' }, paths, definitions: {} };
}

// Protobuf wire format, just enough for gnostic's openapi_v2.Document (field numbers from OpenAPIv2.proto).
type Field = [number, string | boolean | Buffer];

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 127) {
    bytes.push((v & 127) | 128);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function message(fields: Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const [number, value] of fields) {
    if (typeof value === 'boolean') {
      parts.push(varint((number << 3) | 0), varint(value ? 1 : 0));
    } else {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      parts.push(varint((number << 3) | 2), varint(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

function queryParameter(name: string): Buffer {
  const subSchema = message([
    [2, 'query'],
    [4, name],
    [6, 'string'],
    [20, true],
  ]);
  const nonBody = message([[3, subSchema]]);
  const parameter = message([[2, nonBody]]);
  return message([[1, parameter]]);
}

function patchOperationProto(r: ResourceInfo): Buffer {
  const gvkYaml = `group: "${r.group}"\nkind: ${r.kind}\nversion: ${r.version}\n`;
  const extension = message([
    [1, 'x-kubernetes-group-version-kind'],
    [2, message([[2, gvkYaml]])],
  ]);
  return message([
    [5, `patch${r.namespaced ? 'Namespaced' : ''}${r.kind}`],
    ...QUERY_PARAMETERS.map((name): Field => [8, queryParameter(name)]),
    [13, extension],
  ]);
}

let cachedProto: Buffer | undefined;

export function openApiV2Protobuf(): Buffer {
  if (cachedProto) return cachedProto;
  const paths = message(
    RESOURCES.map(
      (r): Field => [
        2,
        message([
          [1, objectPath(r)],
          [2, message([[8, patchOperationProto(r)]])],
        ]),
      ],
    ),
  );
  const info = message([
    [1, 'Kubernetes'],
    [2, 'unversioned'],
  ]);
  cachedProto = message([
    [1, '2.0'],
    [2, info],
    [8, paths],
  ]);
  return cachedProto;
}
