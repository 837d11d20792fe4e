// Command-line flags of the benches: `--name value` pairs and the `--size` every data bench takes.
// (bench/refresh.ts and bench/engine.ts still carry their own copies of these few lines.)

/** The value after `--name`, or undefined. */
export const flagValue = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

/** `--size` (default small), checked against the bench's sizes. */
export function sizeFlag<S extends Record<string, unknown>>(args: string[], sizes: S): keyof S & string {
  const size = flagValue(args, 'size') ?? 'small'
  if (!(size in sizes)) throw new Error(`--size must be ${Object.keys(sizes).join(', ')}, not ${size}`)
  return size
}

/** The PostgreSQL a bench runs on, when one is set. */
export const benchPgUrl = (): string | undefined => process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
