// Worker threads on Node 20 don't inherit tsx's loader hooks (`--import tsx` in execArgv is
// ignored for the worker's entry), so this plain-JS entry loads the TypeScript worker via tsx.
import { workerData } from 'node:worker_threads'
import { tsImport } from 'tsx/esm/api'

await tsImport(workerData.entry, import.meta.url)
