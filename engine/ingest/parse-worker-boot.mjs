// Worker threads on Node 20 don't inherit tsx's loader hooks, so this plain-JS entry loads the
// TypeScript parse worker through tsx (as server/engine-worker-boot.mjs does for the engine).
import { tsImport } from 'tsx/esm/api'

await tsImport('./parse-worker.ts', import.meta.url)
