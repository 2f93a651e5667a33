/**
 * Checks the policy's `gates` list and `prometheus` settings and fills their defaults. Pure (no I/O): the
 * plan layer calls it, and a plan carries its output, which is valid input again (same result).
 *
 * Each problem names its field, what is wrong and what to write instead; all are reported at once.
 */
import { parseDuration } from '../core/index.ts';
import { type Condition, ConditionSyntaxError, parseCondition } from './condition.ts';
import { TEMPLATES, TemplateArgError, type TemplateDefaults, templateDefaults } from './gate-templates.ts';
import {
  type BurnRateSpec,
  GATE_ACTIONS,
  GATE_PROVIDERS,
  GATE_TEMPLATES,
  type GateAction,
  type GateFieldError,
  type GateProviderKind,
  type GateSpec,
  type GateTemplateName,
  type HeaderSource,
  type HttpGateSettings,
  KUBE_QUERIES,
  type PrometheusSettings,
} from './gate-types.ts';

export const GATE_DEFAULTS = {
  interval: '1m',
  failureLimit: 0,
  inconclusiveLimit: 0,
  onFailure: 'pause',
  onInconclusive: 'pause',
  timeout: '30s',
  baselineWindow: '30m',
} as const satisfies Partial<GateSpec>;

const GATE_FIELDS = [
  'name',
  'template',
  'args',
  'provider',
  'query',
  'field',
  'success',
  'failure',
  'interval',
  'count',
  'failureLimit',
  'inconclusiveLimit',
  'onFailure',
  'onInconclusive',
  'timeout',
  'baselineWindow',
  'burnRate',
  'http',
] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ValidateGatesOptions {
  /** Whether the policy sets `prometheus` (a prometheus gate without it has nowhere to ask). */
  prometheusConfigured?: boolean;
}

export interface GatesResult {
  gates: GateSpec[];
  errors: GateFieldError[];
}

/**
 * `raw` is the policy's `gates` value: a list of gate specs. Absent, null and an empty mapping (what
 * policies and plans written before gates existed hold) mean no gates.
 */
export function validateGates(raw: unknown, at = 'gates', options: ValidateGatesOptions = {}): GatesResult {
  const errors: GateFieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (raw === undefined || raw === null) return { gates: [], errors };
  if (isObj(raw)) {
    if (Object.keys(raw).length === 0) return { gates: [], errors };
    fail(
      at,
      'must be a list of gate specs (e.g. "- template: M5"), not a mapping; write `gates: []` for none (see docs/gates.md)',
    );
    return { gates: [], errors };
  }
  if (!Array.isArray(raw)) {
    fail(at, 'must be a list of gate specs (see docs/gates.md)');
    return { gates: [], errors };
  }
  const gates: GateSpec[] = [];
  const names = new Map<string, number>();
  raw.forEach((item, i) => {
    const spec = validateGate(item, `${at}[${i}]`, fail, options);
    if (!spec) return;
    const seen = names.get(spec.name);
    if (seen !== undefined)
      fail(
        `${at}[${i}].name`,
        `"${spec.name}" is already the name of ${at}[${seen}]: give each gate its own name`,
      );
    else names.set(spec.name, i);
    gates.push(spec);
  });
  return { gates, errors };
}

function validateGate(
  raw: unknown,
  at: string,
  fail: (field: string, message: string) => void,
  options: ValidateGatesOptions,
): GateSpec | undefined {
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with a template (M1–M7, burn-rate) or a provider and a query');
    return undefined;
  }
  let problems = 0;
  const note = (field: string, message: string) => {
    problems++;
    fail(field, message);
  };
  for (const key of Object.keys(raw))
    if (!(GATE_FIELDS as readonly string[]).includes(key))
      note(`${at}.${key}`, `unknown field (known: ${GATE_FIELDS.join(', ')})`);

  const template = oneOf(raw.template, GATE_TEMPLATES, `${at}.template`, note);
  const args = templateArgs(raw.args, `${at}.args`, template, note);
  const provider =
    oneOf(raw.provider, GATE_PROVIDERS, `${at}.provider`, note) ??
    (template ? TEMPLATES[template].providers[0] : undefined);
  // Note: a template given but misspelt is reported once, not again as every field it would have filled.
  const withoutTemplate = raw.template === undefined;
  if (!provider && withoutTemplate && raw.provider === undefined)
    note(`${at}.provider`, `is required without a template (one of: ${GATE_PROVIDERS.join(', ')})`);

  let defaults: TemplateDefaults = {};
  if (template && provider) {
    if (!TEMPLATES[template].providers.includes(provider))
      note(
        `${at}.provider`,
        `template ${template} measures with ${TEMPLATES[template].providers.join(' or ')}, not ${provider}`,
      );
    else
      try {
        defaults = templateDefaults(template, provider, args ?? {});
      } catch (err) {
        if (!(err instanceof TemplateArgError)) throw err;
        note(`${at}.args.${err.arg}`, err.message);
      }
  }

  const name = nonEmpty(raw.name, `${at}.name`, note) ?? defaultName(template, args);
  if (name === undefined && raw.name === undefined && withoutTemplate)
    note(`${at}.name`, 'is required without a template');

  const query = nonEmpty(raw.query, `${at}.query`, note) ?? defaults.query;
  if (query === undefined && raw.query === undefined && withoutTemplate)
    note(`${at}.query`, `is required: ${queryHint(provider)}`);
  if (query !== undefined && provider === 'kube' && !(KUBE_QUERIES as readonly string[]).includes(query))
    note(`${at}.query`, `the kube provider measures one of: ${KUBE_QUERIES.join(', ')}`);
  if (query !== undefined && provider === 'http' && !/^https?:\/\/\S+$/.test(query))
    note(`${at}.query`, 'must be an http:// or https:// URL for the http provider');
  if (provider === 'prometheus' && options.prometheusConfigured === false)
    note(
      `${at}.provider`,
      'prometheus gates need `prometheus.url` in the policy (the server, Thanos, Mimir or VictoriaMetrics to query)',
    );

  const field = nonEmpty(raw.field, `${at}.field`, note);
  if (field !== undefined && provider !== 'http' && provider !== 'command')
    note(`${at}.field`, 'only http and command gates read a JSON field; a query returns one number');

  const http = httpSettings(raw.http, `${at}.http`, note);
  if (raw.http !== undefined && provider !== undefined && provider !== 'http')
    note(`${at}.http`, 'only http gates send a request of their own (prometheus gates: see `prometheus`)');

  const success = condition(raw.success, `${at}.success`, note) ?? parsed(defaults.success);
  const failure = condition(raw.failure, `${at}.failure`, note) ?? parsed(defaults.failure);
  if (!success && !failure && raw.success === undefined && raw.failure === undefined && withoutTemplate)
    note(`${at}.success`, 'a gate needs a success or a failure condition, e.g. "result < 1.2 * baseline"');

  const interval =
    duration(raw.interval, `${at}.interval`, note, true) ?? defaults.interval ?? GATE_DEFAULTS.interval;
  const timeout = duration(raw.timeout, `${at}.timeout`, note, true) ?? GATE_DEFAULTS.timeout;
  const baselineWindow =
    duration(raw.baselineWindow, `${at}.baselineWindow`, note, true) ?? GATE_DEFAULTS.baselineWindow;
  const count = wholeNumber(
    raw.count,
    `${at}.count`,
    note,
    1,
    'how many measurements in all; leave it out to measure as long as the run goes on',
  );
  const failureLimit =
    wholeNumber(raw.failureLimit, `${at}.failureLimit`, note, 0, 'failed measurements tolerated') ??
    GATE_DEFAULTS.failureLimit;
  const inconclusiveLimit =
    wholeNumber(
      raw.inconclusiveLimit,
      `${at}.inconclusiveLimit`,
      note,
      0,
      'inconclusive measurements tolerated',
    ) ?? GATE_DEFAULTS.inconclusiveLimit;
  const onFailure: GateAction =
    oneOf(raw.onFailure, GATE_ACTIONS, `${at}.onFailure`, note) ?? GATE_DEFAULTS.onFailure;
  const onInconclusive: GateAction =
    oneOf(raw.onInconclusive, GATE_ACTIONS, `${at}.onInconclusive`, note) ?? GATE_DEFAULTS.onInconclusive;
  const burnRate = burnRateOf(raw.burnRate, `${at}.burnRate`, note) ?? defaults.burnRate;
  if (burnRate && provider !== 'prometheus') note(`${at}.burnRate`, 'burn-rate gates query prometheus');
  if (burnRate && query !== undefined && !query.includes('{window}'))
    note(`${at}.query`, "a burn-rate gate's error ratio must contain {window} where the range goes");

  if (problems > 0 || !name || !provider || query === undefined) return undefined;
  const spec: GateSpec = {
    name,
    provider,
    query,
    interval,
    failureLimit,
    inconclusiveLimit,
    onFailure,
    onInconclusive,
    timeout,
    baselineWindow,
  };
  if (field !== undefined) spec.field = field;
  if (success) spec.success = success.text;
  if (failure) spec.failure = failure.text;
  if (count !== undefined) spec.count = count;
  if (template) spec.template = template;
  if (args && Object.keys(args).length > 0) spec.args = args;
  if (burnRate) spec.burnRate = burnRate;
  if (http) spec.http = http;
  return spec;
}

function defaultName(
  template: GateTemplateName | undefined,
  args: Record<string, string | number> | undefined,
) {
  if (!template) return undefined;
  return args?.service !== undefined ? `${template}-${String(args.service)}` : template;
}

function queryHint(provider: GateProviderKind | undefined): string {
  switch (provider) {
    case 'prometheus':
      return 'PromQL that returns one number';
    case 'http':
      return 'the URL to GET';
    case 'command':
      return 'the shell command to run';
    case 'kube':
      return `one of ${KUBE_QUERIES.join(', ')}`;
    default:
      return 'what to measure';
  }
}

type Note = (field: string, message: string) => void;

function oneOf<T extends string>(v: unknown, values: readonly T[], field: string, note: Note): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  note(field, `must be one of: ${values.join(', ')}`);
  return undefined;
}

function nonEmpty(v: unknown, field: string, note: Note): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v.trim() !== '') return v;
  note(field, 'must be a non-empty string');
  return undefined;
}

function duration(v: unknown, field: string, note: Note, positive: boolean): string | undefined {
  if (v === undefined) return undefined;
  try {
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error();
    const ms = parseDuration(v);
    if (positive && ms <= 0) throw new Error();
    return String(v);
  } catch {
    note(field, `must be a duration${positive ? ' above 0' : ''} such as 30s, 5m or 1h`);
    return undefined;
  }
}

function wholeNumber(
  v: unknown,
  field: string,
  note: Note,
  least: number,
  meaning: string,
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= least) return v;
  note(field, `must be a whole number ≥ ${least} (${meaning})`);
  return undefined;
}

function condition(v: unknown, field: string, note: Note): Condition | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    note(field, 'must be a condition in quotes, e.g. "result < 1.2 * baseline"');
    return undefined;
  }
  try {
    return parseCondition(v);
  } catch (err) {
    if (!(err instanceof ConditionSyntaxError)) throw err;
    note(
      field,
      `${err.message}; conditions compare result (and baseline) with numbers, e.g. "result >= 0.999"`,
    );
    return undefined;
  }
}

function parsed(text: string | undefined): Condition | undefined {
  return text === undefined ? undefined : parseCondition(text);
}

function templateArgs(
  v: unknown,
  field: string,
  template: GateTemplateName | undefined,
  note: Note,
): Record<string, string | number> | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v) || Object.values(v).some((a) => typeof a !== 'string' && typeof a !== 'number')) {
    note(field, 'must be a mapping of names to strings or numbers, e.g. {service: storefront}');
    return undefined;
  }
  if (!template) {
    note(field, 'only a template reads args; without one, write the query itself');
    return undefined;
  }
  const known = TEMPLATES[template].args;
  for (const k of Object.keys(v))
    if (!known.includes(k))
      note(`${field}.${k}`, `template ${template} takes no such argument (known: ${known.join(', ')})`);
  return v as Record<string, string | number>;
}

/** The burnRate block of a plan's (already expanded) burn-rate gate, read back. */
function burnRateOf(v: unknown, field: string, note: Note): BurnRateSpec | undefined {
  if (v === undefined) return undefined;
  const bad = () => {
    note(
      field,
      'is filled in by `template: burn-rate` (objective, sloWindow, threshold, windows); set those with args instead',
    );
    return undefined;
  };
  if (!isObj(v)) return bad();
  const { objective, sloWindow, threshold, windows } = v;
  if (typeof objective !== 'number' || !(objective > 0 && objective < 1)) return bad();
  if (typeof threshold !== 'number' || !(threshold > 0)) return bad();
  if (typeof sloWindow !== 'string' || !Array.isArray(windows) || windows.length === 0) return bad();
  const pairs: BurnRateSpec['windows'] = [];
  for (const w of windows) {
    if (!isObj(w) || typeof w.long !== 'string' || typeof w.short !== 'string') return bad();
    try {
      parseDuration(w.long);
      parseDuration(w.short);
    } catch {
      return bad();
    }
    pairs.push({ long: w.long, short: w.short });
  }
  return { objective, sloWindow, threshold, windows: pairs };
}

/**
 * Headers whose value is a credential: written in the policy it would be copied into every plan, shown by
 * `plan -o yaml` and kept in the state store.
 */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
/** RFC 9110's token characters: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An http gate's `http:` block: headers (a value, a file or an environment variable each), CA, verification. */
function httpSettings(v: unknown, at: string, note: Note): HttpGateSettings | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) {
    note(at, 'must be a mapping with headers, caFile or insecureSkipVerify');
    return undefined;
  }
  const known = ['headers', 'caFile', 'insecureSkipVerify'];
  for (const k of Object.keys(v))
    if (!known.includes(k)) note(`${at}.${k}`, `unknown field (known: ${known.join(', ')})`);
  const settings: HttpGateSettings = {};
  if (v.headers !== undefined) {
    if (!isObj(v.headers)) note(`${at}.headers`, 'must be a mapping of header names to values');
    else {
      const headers: Record<string, HeaderSource> = {};
      for (const [name, source] of Object.entries(v.headers)) {
        const header = headerSource(name, source, `${at}.headers.${name}`, note);
        if (header) headers[name] = header;
      }
      if (Object.keys(headers).length > 0) settings.headers = headers;
    }
  }
  const ca = nonEmpty(v.caFile, `${at}.caFile`, note);
  if (ca) settings.caFile = ca;
  if (v.insecureSkipVerify !== undefined) {
    if (typeof v.insecureSkipVerify !== 'boolean') note(`${at}.insecureSkipVerify`, 'must be true or false');
    else if (v.insecureSkipVerify) settings.insecureSkipVerify = true;
  }
  return Object.keys(settings).length > 0 ? settings : undefined;
}

function headerSource(name: string, v: unknown, at: string, note: Note): HeaderSource | undefined {
  if (!HEADER_NAME.test(name)) {
    note(at, 'is not a header name (letters, digits and -, e.g. X-Scope-OrgID)');
    return undefined;
  }
  const secretHint = `{ file: PATH } (the file holds the whole value, e.g. "Bearer …") or { env: NAME }`;
  const plain = typeof v === 'string' ? v : isObj(v) && typeof v.value === 'string' ? v.value : undefined;
  if (plain !== undefined) {
    if (CREDENTIAL_HEADERS.has(name.toLowerCase())) {
      note(at, `a credential must not be written in the policy (plans copy it): use ${secretHint}`);
      return undefined;
    }
    if (/[\r\n]/.test(plain)) {
      note(at, 'a header value cannot contain a line break');
      return undefined;
    }
    return { value: plain };
  }
  if (isObj(v) && Object.keys(v).length === 1) {
    if (typeof v.file === 'string' && v.file !== '') return { file: v.file };
    if (typeof v.env === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.env)) return { env: v.env };
  }
  note(at, `must be a string, { value: TEXT }, ${secretHint}`);
  return undefined;
}

/** Checks `policy.prometheus`: where prometheus gates send their queries, and how to authenticate. */
export function validatePrometheus(
  raw: unknown,
  at = 'prometheus',
): { settings?: PrometheusSettings; errors: GateFieldError[] } {
  const errors: GateFieldError[] = [];
  const note: Note = (field, message) => errors.push({ field, message });
  if (raw === undefined || raw === null) return { errors };
  if (!isObj(raw)) {
    note(at, 'must be a mapping with at least url (e.g. url: http://prometheus.monitoring:9090)');
    return { errors };
  }
  const known = ['url', 'bearerTokenFile', 'basicAuth', 'caFile', 'insecureSkipVerify'];
  for (const k of Object.keys(raw))
    if (!known.includes(k)) note(`${at}.${k}`, `unknown field (known: ${known.join(', ')})`);
  const url = nonEmpty(raw.url, `${at}.url`, note);
  if (raw.url === undefined)
    note(`${at}.url`, 'is required: the base URL of Prometheus (or Thanos, Mimir, VictoriaMetrics)');
  if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url))
    note(`${at}.url`, 'must be an http:// or https:// URL, e.g. http://prometheus.monitoring:9090');
  const settings: PrometheusSettings = { url: url ?? '' };
  const bearer = nonEmpty(raw.bearerTokenFile, `${at}.bearerTokenFile`, note);
  if (bearer) settings.bearerTokenFile = bearer;
  if (raw.basicAuth !== undefined) {
    const b = raw.basicAuth;
    if (
      !isObj(b) ||
      typeof b.username !== 'string' ||
      typeof b.passwordFile !== 'string' ||
      b.username === ''
    )
      note(
        `${at}.basicAuth`,
        'must be {username, passwordFile} (the password is read from the file, never written in the policy)',
      );
    else {
      for (const k of Object.keys(b))
        if (k !== 'username' && k !== 'passwordFile')
          note(`${at}.basicAuth.${k}`, 'unknown field (known: username, passwordFile)');
      settings.basicAuth = { username: b.username, passwordFile: b.passwordFile };
    }
  }
  if (bearer && settings.basicAuth) note(`${at}.basicAuth`, 'choose one of bearerTokenFile and basicAuth');
  const ca = nonEmpty(raw.caFile, `${at}.caFile`, note);
  if (ca) settings.caFile = ca;
  if (raw.insecureSkipVerify !== undefined) {
    if (typeof raw.insecureSkipVerify !== 'boolean')
      note(`${at}.insecureSkipVerify`, 'must be true or false');
    else if (raw.insecureSkipVerify) settings.insecureSkipVerify = true;
  }
  return errors.length > 0 ? { errors } : { settings, errors };
}

/** The gate specs a plan's policy holds; a plan written before gates were a list holds `{}`: no gates. */
export function gateSpecsOf(gates: unknown): GateSpec[] {
  return Array.isArray(gates) ? (gates as GateSpec[]) : [];
}
