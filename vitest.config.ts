import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The sandbox and the real daemons (etcd, Prometheus) are heavy: two workers fit a 2-core machine.
    maxWorkers: 2,
    // bin/midflight.js, as spawned by the tests (and by the command providers they configure), runs the
    // TypeScript sources, never a dist/ left over from an older build. test/cli/built-cli.test.ts runs a build.
    env: { MIDFLIGHT_SOURCE: '1' },
  },
});
