export {}

// npm run bench -- [engine|server|collab|cluster|soak|explain|refresh|incremental|pg-settings|backfill|client]
// [flags]; with no name, runs engine, server, collab and explain in turn (soak, refresh, incremental,
// pg-settings, cluster, backfill and client are long: name them).
const suites: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  engine: () => import('./engine.ts'),
  server: () => import('./server.ts'),
  collab: () => import('./collab-suite.ts'), // collab.ts, then the issue-8 benches
  cluster: () => import('./collab-cluster.ts'), // issue 11: collab clients at p99 ≤ 100 ms, 1 vs 3 processes (PostgreSQL)
  soak: () => import('./soak.ts'), // issue 12's load case: 10 minutes, 200 editors, 50 readers, 10M events
  explain: () => import('./explain.ts'), // issue 9: one customer's value explained
  backfill: () => import('./backfill.ts'), // issue 9: a label's history for its last 30 days
  refresh: () => import('./refresh.ts'), // issue 10: 300 labels' daily refresh, PGlite / PostgreSQL / DuckDB
  incremental: () => import('./incremental.ts'), // issue 10 item 4: lastDays count/sum from events, daily partials, previous result + delta
  'pg-settings': () => import('./pg-settings.ts'), // issue 10: the day-1 refresh on PostgreSQL under session settings (jit, work_mem…)
  client: () => import('./client.ts'), // issue 9: tree load and filter keystroke at 5,000 labels (Chromium)
}

const [name, ...args] = process.argv.slice(2)
// A bench's flags without its name (`npm run bench -- --refresh`, or `npm run bench --refresh`, which npm
// takes as its own config flag, npm_config_refresh, and passes nothing) ran the whole default set
// instead: refuse with the command meant.
const meant = (() => {
  if (!name) return Object.keys(suites).find((n) => process.env[`npm_config_${n}`] !== undefined)
  return name.startsWith('-') ? name.replace(/^-+/, '') : undefined
})()
if (meant !== undefined) {
  console.error(
    Object.hasOwn(suites, meant)
      ? `"${name ?? `--${meant}`}" is not a bench: run \`npm run bench -- ${meant} [flags]\` (the name without dashes, after --)`
      : `flags need a bench name first: \`npm run bench -- NAME ${name} …\`, NAME one of ${Object.keys(suites).join(', ')}; with no arguments the default set runs`,
  )
  process.exit(2)
}
const names = name
  ? [name]
  : Object.keys(suites).filter(
      (n) => !['soak', 'refresh', 'incremental', 'pg-settings', 'cluster', 'backfill', 'client'].includes(n),
    )
for (const n of names) {
  const load = Object.hasOwn(suites, n) ? suites[n] : undefined
  if (!load) {
    console.error(`unknown bench "${n}"; choose one of ${Object.keys(suites).join(', ')}`)
    process.exit(2)
  }
  console.log(`\n=== bench ${n} ===`)
  await (await load()).main(name === n ? args : [])
}
