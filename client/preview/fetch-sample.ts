/** Thrown for a refused sample request; the UI says why the demo sample is shown instead. */
export class SampleUnavailable extends Error {}

/**
 * Fetches GET /api/data/sample and yields its NDJSON body as text chunks while it arrives,
 * so the worker ingests the first users while the rest is still on the wire.
 */
export async function* fetchSampleText(url: string, token: string): AsyncGenerator<string> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/x-ndjson' } })
  if (!res.ok || !res.body) {
    let why = `HTTP ${res.status}`
    try {
      const m = ((await res.json()) as { error?: { message?: string } }).error?.message
      if (m) why += `: ${m}`
    } catch {
      // not a JSON error body: the status says enough
    }
    throw new SampleUnavailable(why)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}
