export {}

// npm run bench -- [engine|server|collab|cluster|soak|explain|refresh|incremental|backfill|client] [flags];
// with no name, runs engine, server, collab and explain in turn (soak, refresh, incremental, cluster,
// backfill and client are long: name them).
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
  client: () => import('./client.ts'), // issue 9: tree load and filter keystroke at 5,000 labels (Chromium)
}

const [name, ...args] = process.argv.slice(2)
const names =
  name && !name.startsWith('-')
    ? [name]
    : Object.keys(suites).filter(
        (n) => !['soak', 'refresh', 'incremental', 'cluster', 'backfill', 'client'].includes(n),
      )
for (const n of names) {
  const load = suites[n]
  if (!load) {
    console.error(`unknown bench "${n}"; choose one of ${Object.keys(suites).join(', ')}`)
    process.exit(2)
  }
  console.log(`\n=== bench ${n} ===`)
  await (await load()).main(name === n ? args : [])
}
