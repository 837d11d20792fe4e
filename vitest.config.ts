import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite instances are memory-hungry WASM; two cores, so keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
})
