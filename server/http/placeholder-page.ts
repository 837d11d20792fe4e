/** Served at / when the web app isn't built (npm run build:client): says how to use the API. */
export function placeholderPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Labels</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:.1rem .3rem}</style>
</head><body>
<h1>Labels</h1>
<p>The server is running. The web app is not built yet: run <code>npm run build:client</code> and restart.</p>
<p>The HTTP API is under <code>/api</code> (OpenAPI description at <code>/api/docs</code>); send <code>Authorization: Bearer TOKEN</code>.</p>
</body></html>
`
}
