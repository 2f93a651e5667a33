import { describe, expect, it } from 'vitest';
import { GATE_DEFAULTS, type GateSpec, validateGates, validatePrometheus } from '../../src/gates/index.ts';
import { formatPolicyError, policyFromYaml } from '../../src/plan/index.ts';

const valid = (raw: unknown, prometheus = true): GateSpec[] => {
  const result = validateGates(raw, 'gates', { prometheusConfigured: prometheus });
  expect(result.errors).toEqual([]);
  return result.gates;
};

describe('gate specs in the policy', () => {
  it.each([
    ['absent', undefined],
    ['null', null],
    ['an empty list', []],
    // What every policy and plan held before gates were a list: still means no gates.
    ['an empty mapping', {}],
  ])('%s means no gates', (_name, raw) => {
    expect(valid(raw)).toEqual([]);
  });

  it('fills every default of a spelled-out gate', () => {
    expect(
      valid([
        {
          name: 'es-green',
          provider: 'http',
          query: 'http://es:9200/_cluster/health',
          field: 'active_shards_percent_as_number',
          success: 'result == 100',
        },
      ]),
    ).toEqual([
      {
        name: 'es-green',
        provider: 'http',
        query: 'http://es:9200/_cluster/health',
        field: 'active_shards_percent_as_number',
        success: 'result == 100',
        ...GATE_DEFAULTS,
      },
    ]);
  });

  it.each([
    ['M1', 'kube', 'api-availability', 'result >= 0.999', undefined],
    ['M2', 'kube', 'node-readiness', 'result == 1', undefined],
    ['M3', 'kube', 'unplanned-disruption', 'result < baseline + 0.01', undefined],
    ['M4', 'prometheus', 'histogram_quantile(0.95', 'result < 1.2 * baseline', undefined],
    ['M5', 'prometheus', 'code=~"5.."', 'result < max(2 * baseline, 0.001)', undefined],
    ['M6', 'prometheus', 'etcd_disk_backend_commit_duration_seconds_bucket', 'result < 0.2', undefined],
    ['M7', 'prometheus', 'storage_operation_duration_seconds_count', 'result == 0', undefined],
  ])(
    'template %s defaults to %s measuring %s with success %s',
    (template, provider, query, success, failure) => {
      const [gate] = valid([{ template }]);
      expect(gate).toMatchObject({ name: template, template, provider, success });
      expect(gate!.failure).toBe(failure);
      expect(gate!.query).toContain(query);
    },
  );

  it.each([
    ['M1', 'apiserver_request_total{code!~"5.."}'],
    ['M2', 'kube_node_status_condition{condition="Ready",status="true",node!~"{nodesInFlight}"}'],
    ['M3', 'sandbox_pod_disruptions_total{run_id!="{runId}"}'],
  ])('template %s on prometheus queries %s', (template, fragment) => {
    const [gate] = valid([{ template, provider: 'prometheus' }]);
    expect(gate!.query).toContain(fragment);
  });

  it('narrows a per-service template to its service and names the gate after it', () => {
    const [gate] = valid([
      {
        template: 'M5',
        args: { service: 'storefront', namespace: 'shop', metric: 'sandbox_http_requests_total' },
      },
    ]);
    expect(gate!.name).toBe('M5-storefront');
    expect(gate!.query).toBe(
      '(sum(rate(sandbox_http_requests_total{code=~"5..",service="storefront",namespace="shop"}[5m])) or vector(0)) / sum(rate(sandbox_http_requests_total{service="storefront",namespace="shop"}[5m]))',
    );
  });

  it('lets every field the policy sets win over the template', () => {
    const [gate] = valid([
      {
        template: 'M6',
        name: 'etcd',
        success: 'result < 0.1',
        interval: '30s',
        failureLimit: 2,
        onFailure: 'rollback',
      },
    ]);
    expect(gate).toMatchObject({
      name: 'etcd',
      success: 'result < 0.1',
      interval: '30s',
      failureLimit: 2,
      onFailure: 'rollback',
    });
  });

  it('expands a burn-rate gate from an SLO target and window', () => {
    const [gate] = valid([
      { template: 'burn-rate', name: 'slo', args: { objective: '99.9%', service: 'storefront' } },
    ]);
    expect(gate).toMatchObject({
      provider: 'prometheus',
      success: 'result <= 2',
      failure: 'result > 2',
      burnRate: {
        objective: 0.999,
        sloWindow: '30d',
        threshold: 2,
        windows: [
          { long: '1h', short: '5m' },
          { long: '6h', short: '30m' },
        ],
      },
    });
    expect(gate!.query).toContain('[{window}]');
  });

  it('reads its own output back unchanged (a plan carries it)', () => {
    const gates = valid([
      { template: 'M5', args: { service: 'storefront' }, failureLimit: 1 },
      { template: 'burn-rate', name: 'slo', args: { objective: 0.995, sloWindow: '28d', threshold: 3 } },
      { template: 'M2' },
      {
        name: 'smoke',
        provider: 'command',
        query: 'curl -fsS http://shop/checkout | jq .ok',
        success: 'result == 1',
        count: 3,
      },
    ]);
    expect(valid(JSON.parse(JSON.stringify(gates)))).toEqual(gates);
  });

  it.each<[string, unknown, string, string]>([
    ['a mapping with gates in it', { m5: { template: 'M5' } }, 'gates', 'must be a list of gate specs'],
    ['a string', 'M5', 'gates', 'must be a list'],
    [
      'no provider nor template',
      [{ name: 'x', query: 'up' }],
      'gates[0].provider',
      'is required without a template',
    ],
    [
      'no name',
      [{ provider: 'prometheus', query: 'up', success: 'result == 1' }],
      'gates[0].name',
      'is required',
    ],
    [
      'no query',
      [{ name: 'x', provider: 'prometheus', success: 'result == 1' }],
      'gates[0].query',
      'PromQL that returns one number',
    ],
    [
      'no condition',
      [{ name: 'x', provider: 'prometheus', query: 'up' }],
      'gates[0].success',
      'needs a success or a failure condition',
    ],
    [
      'an unknown provider',
      [{ name: 'x', provider: 'datadog', query: 'q', success: 'result < 1' }],
      'gates[0].provider',
      'must be one of: kube, prometheus, http, command',
    ],
    ['an unknown template', [{ template: 'M9' }], 'gates[0].template', 'must be one of: M1, M2'],
    [
      'a template on a provider it has no query for',
      [{ template: 'M6', provider: 'kube' }],
      'gates[0].provider',
      'template M6 measures with prometheus, not kube',
    ],
    [
      'an unknown kube measure',
      [{ name: 'x', provider: 'kube', query: 'cpu', success: 'result < 1' }],
      'gates[0].query',
      'the kube provider measures one of: api-availability, node-readiness, unplanned-disruption',
    ],
    [
      'an http gate without a URL',
      [{ name: 'x', provider: 'http', query: 'es:9200', success: 'result == 1' }],
      'gates[0].query',
      'http:// or https:// URL',
    ],
    [
      'a bad condition',
      [{ template: 'M4', success: 'result < 1.2 x baseline' }],
      'gates[0].success',
      'unexpected "x" at column 14',
    ],
    [
      'a condition that is not a string',
      [{ template: 'M4', success: 5 }],
      'gates[0].success',
      'must be a condition in quotes',
    ],
    ['an unknown field', [{ template: 'M4', onFail: 'pause' }], 'gates[0].onFail', 'unknown field'],
    [
      'a bad action',
      [{ template: 'M4', onFailure: 'abort' }],
      'gates[0].onFailure',
      'must be one of: pause, rollback',
    ],
    [
      'a zero interval',
      [{ template: 'M4', interval: '0s' }],
      'gates[0].interval',
      'must be a duration above 0',
    ],
    [
      'a negative limit',
      [{ template: 'M4', failureLimit: -1 }],
      'gates[0].failureLimit',
      'must be a whole number ≥ 0',
    ],
    ['a count of 0', [{ template: 'M4', count: 0 }], 'gates[0].count', 'must be a whole number ≥ 1'],
    [
      'args without a template',
      [{ name: 'x', provider: 'prometheus', query: 'up', success: 'result == 1', args: { a: 1 } }],
      'gates[0].args',
      'only a template reads args',
    ],
    [
      'an argument the template does not take',
      [{ template: 'M6', args: { service: 'x' } }],
      'gates[0].args.service',
      'template M6 takes no such argument',
    ],
    [
      'a burn-rate gate without its objective',
      [{ template: 'burn-rate' }],
      'gates[0].args.objective',
      'is required: the SLO target',
    ],
    [
      'an objective of 100 %',
      [{ template: 'burn-rate', args: { objective: 1 } }],
      'gates[0].args.objective',
      'between 0 and 100 %',
    ],
    [
      'an error ratio without its window',
      [{ template: 'burn-rate', args: { objective: 0.99, errorRatio: 'x' } }],
      'gates[0].args.errorRatio',
      'must contain {window}',
    ],
    [
      'a window that is not a duration',
      [{ template: 'M5', args: { window: 'five' } }],
      'gates[0].args.window',
      'must be a duration',
    ],
    [
      'a label value that would break the PromQL',
      [{ template: 'M5', args: { service: 'a"}' } }],
      'gates[0].args.service',
      'must be a plain label value',
    ],
    [
      'a metric name that is not one',
      [{ template: 'M4', args: { metric: 'http-latency' } }],
      'gates[0].args.metric',
      'must be a Prometheus metric name',
    ],
    [
      'a field on a prometheus gate',
      [{ template: 'M4', field: 'a.b' }],
      'gates[0].field',
      'only http and command gates read a JSON field',
    ],
    [
      'two gates of one name',
      [{ template: 'M4' }, { template: 'M4' }],
      'gates[1].name',
      '"M4" is already the name of gates[0]',
    ],
  ])('refuses %s', (_name, raw, field, message) => {
    const { errors } = validateGates(raw, 'gates', { prometheusConfigured: true });
    expect(errors).toContainEqual({ field, message: expect.stringContaining(message) });
  });

  it('reports a misspelt template once, not as every field it would have filled', () => {
    expect(validateGates([{ template: 'M9' }]).errors).toEqual([
      { field: 'gates[0].template', message: 'must be one of: M1, M2, M3, M4, M5, M6, M7, burn-rate' },
    ]);
  });

  it('refuses a prometheus gate when the policy does not say where Prometheus is', () => {
    const { errors } = validateGates([{ template: 'M5' }], 'gates', { prometheusConfigured: false });
    expect(errors).toEqual([
      { field: 'gates[0].provider', message: expect.stringContaining('need `prometheus.url` in the policy') },
    ]);
  });
});

describe('prometheus settings', () => {
  it('reads a full connection', () => {
    expect(
      validatePrometheus({
        url: 'https://thanos.monitoring:10902',
        bearerTokenFile: '/var/run/secrets/token',
        caFile: '/etc/ssl/ca.pem',
      }),
    ).toEqual({
      settings: {
        url: 'https://thanos.monitoring:10902',
        bearerTokenFile: '/var/run/secrets/token',
        caFile: '/etc/ssl/ca.pem',
      },
      errors: [],
    });
  });

  it.each<[string, unknown, string, string]>([
    ['no url', {}, 'prometheus.url', 'is required'],
    [
      'a url without a scheme',
      { url: 'prometheus:9090' },
      'prometheus.url',
      'must be an http:// or https:// URL',
    ],
    [
      'an inline password',
      { url: 'http://p', basicAuth: { username: 'u', password: 'p' } },
      'prometheus.basicAuth',
      'the password is read from the file',
    ],
    [
      'both token and basic auth',
      { url: 'http://p', bearerTokenFile: 't', basicAuth: { username: 'u', passwordFile: 'f' } },
      'prometheus.basicAuth',
      'choose one',
    ],
    ['a string', 'http://p', 'prometheus', 'must be a mapping'],
    ['an unknown field', { url: 'http://p', token: 'x' }, 'prometheus.token', 'unknown field'],
  ])('refuses %s', (_name, raw, field, message) => {
    expect(validatePrometheus(raw).errors).toContainEqual({
      field,
      message: expect.stringContaining(message),
    });
  });
});

describe('gates in a policy file', () => {
  it('reads the gates and the Prometheus connection', () => {
    const result = policyFromYaml(
      `prometheus:
  url: http://127.0.0.1:9090
gates:
  - template: M5
    args: {service: storefront}
    onFailure: rollback
  - template: M2
`,
      'policy.yaml',
    );
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.policy.prometheus).toEqual({ url: 'http://127.0.0.1:9090' });
    expect(result.policy.gates.map((g) => [g.name, g.provider, g.onFailure])).toEqual([
      ['M5-storefront', 'prometheus', 'rollback'],
      ['M2', 'kube', 'pause'],
    ]);
  });

  it('points at the line of a bad gate field', () => {
    const result = policyFromYaml(
      `gates:
  - template: M2
  - template: M4
    success: "result << 2"
`,
      'policy.yaml',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatPolicyError)).toEqual([
      'policy.yaml:3:5: gates[1].provider: prometheus gates need `prometheus.url` in the policy (the server, Thanos, Mimir or VictoriaMetrics to query)',
      'policy.yaml:4:14: gates[1].success: expected a number, result or baseline, found "<" at column 9 of "result << 2"; conditions compare result (and baseline) with numbers, e.g. "result >= 0.999"',
    ]);
  });
});
