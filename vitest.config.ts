import { defineConfig } from "vitest/config";

// Differential suites start a real etcd per file, so files run in a few forks and
// each test has room for a slow etcd start-up.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
