import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import solid from 'vite-plugin-solid'
import { serviceWorkerPlugin } from './offline/service-worker-plugin.ts'
import { previewTemplatePlugin } from './preview/template-plugin.ts'

// The web app: built into dist/client, which the server serves at /.
const here = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: here,
  // The preview's template database before the service worker, which precaches every file.
  plugins: [
    solid(),
    previewTemplatePlugin(join(here, '..')),
    serviceWorkerPlugin(join(here, 'offline', 'service-worker.ts')),
  ],
  build: { outDir: join(here, '..', 'dist', 'client'), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  // The preview worker imports PGlite, which loads its WASM/data files relative to its module and
  // uses dynamic imports: ES module workers, and no dependency pre-bundling of PGlite in dev.
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@electric-sql/pglite'] },
  server: {
    // `vite --config client/vite.config.ts` in development: the API and sockets on :8787.
    proxy: {
      '/api': { target: 'http://127.0.0.1:8787', ws: true },
      '/collab': { target: 'ws://127.0.0.1:8787', ws: true },
    },
  },
})
