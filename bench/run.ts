// Runs every benchmark in turn. Each prints its own numbers; none asserts on time.
const benches = [
  './sandbox-large.ts',
  './preflight-plan-large.ts',
  './upgrade-scale.ts',
  './compare-peers.ts',
];
for (const bench of benches) await import(bench);
