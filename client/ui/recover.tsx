import { createEffect, createMemo, ErrorBoundary, on, type JSX } from 'solid-js'

/**
 * An error boundary around one part of the page (a card, the content pane). When something in it
 * throws, only that part shows what went wrong, with Retry; it starts afresh by itself when
 * `resetKey` changes (the input changed, or the operator navigated). The rest of the page stays.
 * A part that has not failed is left as it is when the key changes: the top bar keeps its focused
 * button across the connection's changes of state.
 */
export function Recover(props: {
  resetKey: unknown
  what: string
  /** One line instead of a card (the top bar, the offline banner), with `actions` beside Retry. */
  compact?: boolean
  actions?: JSX.Element
  children: JSX.Element
}): JSX.Element {
  // Only a different key starts afresh (a memo compares with ===): the expression giving the key
  // re-runs whenever anything it reads changes (e.g. the label's object on every edit).
  const key = createMemo(() => props.resetKey)
  return (
    <ErrorBoundary
      fallback={(e: unknown, reset) => {
        // Owned by the fallback: it lives while the part is failed, and a reset disposes it.
        createEffect(on(key, () => reset(), { defer: true }))
        const said = `${props.what} could not be shown: ${e instanceof Error ? e.message : String(e)}`
        return props.compact ? (
          <div class="bar-error" role="alert" data-testid="bar-error">
            <span class="error">{said}</span>
            <button type="button" class="btn small" onClick={reset} data-testid="bar-error-retry">
              Retry
            </button>
            {props.actions}
          </div>
        ) : (
          <section class="card card-error" role="alert" data-testid="card-error">
            <p class="error">{said}</p>
            <p class="hint">The rest of the page still works. Retry, or open another label and come back.</p>
            <div class="actions">
              <button type="button" class="btn small" onClick={reset} data-testid="card-error-retry">
                Retry
              </button>
            </div>
          </section>
        )
      }}
    >
      {props.children}
    </ErrorBoundary>
  )
}
