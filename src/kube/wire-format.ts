/**
 * client-node returns its models as class instances with Date timestamps and camelCase field names
 * (`_continue`, `xKubernetesPreserveUnknownFields`). `toWireFormat` turns one back into the JSON the API
 * server sent, so a ClusterSnapshot can be saved, replayed and compared with raw objects.
 */
import * as models from '@kubernetes/client-node';

interface AttributeType {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

type ModelClass = { getAttributeTypeMap(): AttributeType[] };

const ARRAY_PREFIX = 'Array<';
const MAP_PREFIX = '{ [key: string]: ';
const MAP_SUFFIX = '; }';

/** Converts a client-node model instance of the given type name (e.g. 'V1Pod') to its wire JSON. */
export function toWireFormat<T>(value: unknown, type: string): T {
  return converterFor(type)(value) as T;
}

type Converter = (value: unknown) => unknown;

/**
 * One converter per type name, built once from the model's attribute map: reading a 150,000-pod cluster
 * converts millions of nested objects, so the type strings are parsed once, not per object.
 */
const converters = new Map<string, Converter>();

function converterFor(type: string): Converter {
  const known = converters.get(type);
  if (known) return known;
  // Note: registered before it is built, so recursive types (JSONSchemaProps) find themselves.
  let built: Converter | undefined;
  converters.set(type, (value) => built!(value));
  built = buildConverter(type);
  converters.set(type, built);
  return built;
}

function buildConverter(type: string): Converter {
  for (const suffix of [' | null', ' | undefined']) {
    if (type.endsWith(suffix)) return converterFor(type.slice(0, -suffix.length));
  }
  if (type.startsWith(ARRAY_PREFIX)) {
    const item = converterFor(type.slice(ARRAY_PREFIX.length, -1));
    return (value) => (isAbsent(value) ? undefined : (value as unknown[]).map(item));
  }
  if (type.startsWith(MAP_PREFIX)) {
    const entry = converterFor(type.slice(MAP_PREFIX.length, -MAP_SUFFIX.length));
    return (value) => {
      if (isAbsent(value)) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = entry(v);
      return out;
    };
  }
  const model = modelClass(type);
  if (!model) return plainJson;
  const fields = model
    .getAttributeTypeMap()
    .map((a) => ({ name: a.name, baseName: a.baseName, convert: converterFor(a.type) }));
  return (value) => {
    if (isAbsent(value)) return undefined;
    if (value instanceof Date || typeof value !== 'object') return plainJson(value);
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      const raw = record[field.name];
      if (raw === undefined || raw === null) continue;
      const converted = field.convert(raw);
      if (converted !== undefined) out[field.baseName] = converted;
    }
    return out;
  };
}

const isAbsent = (value: unknown) => value === undefined || value === null;

function modelClass(type: string): ModelClass | undefined {
  const candidate = (models as Record<string, unknown>)[type] as Partial<ModelClass> | undefined;
  return typeof candidate?.getAttributeTypeMap === 'function' ? (candidate as ModelClass) : undefined;
}

/** Untyped values (`any`, IntOrString, RawExtension): passed through, with Dates inside still converted. */
function plainJson(value: unknown): unknown {
  if (value === null) return undefined;
  if (value instanceof Date) return rfc3339(value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plainJson(v);
    return out;
  }
  return value;
}

/** Kubernetes writes metav1.Time with whole seconds ("2024-05-01T10:00:00Z"); keep that shape. */
function rfc3339(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}
