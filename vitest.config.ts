import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Safety limits, not speed targets: a browser test loads PGlite's WASM in Chromium (~50 s on
    // two busy cores in a full run), so 60 s was too close.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // PGlite instances are memory-hungry WASM; two cores, so keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
})
