import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The sandbox and the real daemons (etcd, Prometheus) are heavy: two workers fit a 2-core machine.
    maxWorkers: 2,
    // bin/midflight.js, as spawned by the tests (and by the command providers they configure), runs a build
    // of this checkout made once per test run (MIDFLIGHT_DIST, set by the global setup), never a dist/ left
    // over from an older build. test/cli/built-cli.test.ts checks the package as npm installs it.
    globalSetup: ['test/build-for-tests.ts'],
  },
});
