import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // The package's own tests import `roster/client` from its sources (package.json "exports"):
  // what they test is what src/ says, built or not; test/e2e/npm-package.test.ts loads the built one.
  resolve: { conditions: ['roster-source'] },
  ssr: { resolve: { conditions: ['roster-source'], externalConditions: ['roster-source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: one worker on a machine of two, where
    // the suite then left a core idle while its files waited on the servers they spawn (14.8 min
    // against 8.3 min with two). Two files at once at least; the default on larger machines.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
