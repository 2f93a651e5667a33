import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The sandbox and the real daemons (etcd, Prometheus) are heavy: two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
