import { createSignal, For, Match, Show, Switch, type JSX } from 'solid-js'
import type { DataType } from '../../../shared/schemas/label.ts'
import { count } from '../../charts/chart-data.ts'
import { useSession } from '../../session.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import {
  fileSize,
  importOutcome,
  partlyListed,
  rowName,
  rowsText,
  valueFormats,
  type BadRows,
  type ImportMode,
  type ImportOutcome,
  type ImportReport,
  type RowError,
} from './import-outcome.ts'

type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; sent: number }
  | { kind: 'importing' }
  | { kind: 'done'; outcome: ImportOutcome; skipInvalid: boolean }

/**
 * Values of an import-method label from a CSV `user_id,value` (docs/semantics.md#import-values): pick or drop a
 * file, choose replace or merge and whether bad rows are skipped (the good ones stored) or refuse
 * the whole file, upload. Shows upload progress, then what the server stored and the rows it
 * skipped or refused. The new distribution and history arrive through the live channel like
 * any run's. Editors only (the caller hides it from viewers; the server refuses them anyway).
 */
export function ImportPanel(props: { labelId: string; dataType: DataType }): JSX.Element {
  const s = useSession()
  const [file, setFile] = createSignal<File | null>(null)
  const [mode, setMode] = createSignal<ImportMode>('replace')
  const [skipInvalid, setSkipInvalid] = createSignal(false)
  const [phase, setPhase] = createSignal<Phase>({ kind: 'idle' })
  const [dragging, setDragging] = createSignal(false)
  let input: HTMLInputElement | undefined
  const busy = () => phase().kind === 'uploading' || phase().kind === 'importing'
  const sent = () => {
    const p = phase()
    return p.kind === 'uploading' ? p.sent : null
  }
  const outcome = () => {
    const p = phase()
    return p.kind === 'done' ? p : null
  }
  const choose = (f: File | null | undefined) => {
    if (busy() || !f) return
    setFile(f)
    setPhase({ kind: 'idle' })
  }
  const upload = async () => {
    const f = file()
    if (!f || busy()) return
    const m = mode()
    const skip = skipInvalid()
    const query = new URLSearchParams({ mode: m, ...(skip ? { skipInvalid: 'true' } : {}) })
    setPhase({ kind: 'uploading', sent: 0 })
    let outcome: ImportOutcome
    try {
      const report = await s.api.upload<ImportReport>(
        `/api/labels/${encodeURIComponent(props.labelId)}/import?${query}`,
        f,
        (p) => {
          // Once the body is sent the server parses, validates and stores: say so.
          setPhase(
            p.loaded >= p.total ? { kind: 'importing' } : { kind: 'uploading', sent: p.total ? p.loaded / p.total : 0 },
          )
        },
      )
      outcome = importOutcome({ report, mode: m })
    } catch (error) {
      outcome = importOutcome({ error })
    }
    setPhase({ kind: 'done', outcome, skipInvalid: skip })
    // A stored file is done with; a refused one stays picked for a retry. Either way the same
    // file can be picked again (after fixing it on disk) and fires a change.
    if (outcome.kind === 'stored') setFile(null)
    if (input) input.value = ''
  }
  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setDragging(false)
    choose(e.dataTransfer?.files[0])
  }
  return (
    <section class="card" data-testid="import-panel">
      <header class="card-head">
        <h3>Import values</h3>
      </header>
      <p class="hint">
        A CSV file with one customer per line, <code>user_id,value</code> (header optional); values:{' '}
        {valueFormats[props.dataType]}.{' '}
        {skipInvalid()
          ? 'Bad rows are skipped and listed; the good ones are stored.'
          : 'A file with any bad row stores nothing.'}
      </p>
      <label
        class="drop-zone"
        classList={{ over: dragging(), busy: busy() }}
        data-testid="import-drop"
        onDragEnter={(e) => {
          e.preventDefault()
          setDragging(true)
        }}
        onDragOver={(e) => {
          e.preventDefault()
          if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          ref={input}
          type="file"
          accept=".csv,text/csv,text/plain"
          disabled={busy()}
          data-testid="import-file"
          onChange={(e) => choose(e.currentTarget.files?.[0])}
        />
        <span class="btn small">Choose file…</span>
        <Show when={file()} fallback={<span class="hint">or drop a CSV file here</span>}>
          {(f) => (
            <span data-testid="import-file-name">
              <strong>{f().name}</strong> · {fileSize(f().size)}
            </span>
          )}
        </Show>
      </label>
      <div class="import-row">
        <div class="seg" role="radiogroup" aria-label="Import mode">
          <button
            type="button"
            role="radio"
            aria-checked={mode() === 'replace'}
            classList={{ on: mode() === 'replace' }}
            disabled={busy()}
            onClick={() => setMode('replace')}
            data-testid="import-mode-replace"
          >
            Replace
          </button>
          <button
            type="button"
            role="radio"
            aria-checked={mode() === 'merge'}
            classList={{ on: mode() === 'merge' }}
            disabled={busy()}
            onClick={() => setMode('merge')}
            data-testid="import-mode-merge"
          >
            Merge
          </button>
        </div>
        <label class="import-skip">
          <input
            type="checkbox"
            checked={skipInvalid()}
            disabled={busy()}
            onChange={(e) => setSkipInvalid(e.currentTarget.checked)}
            data-testid="import-skip-invalid"
          />
          Skip invalid rows (store the good ones)
        </label>
        <span class="hint">
          {mode() === 'replace'
            ? "The label's values become exactly the file's; customers not in it lose their value."
            : "The file's values are added to the current ones, replacing a customer's value when the file has one."}
        </span>
        <button
          type="button"
          class="btn primary"
          disabled={!file() || busy() || !online()}
          title={needsServer('Importing')}
          onClick={() => void upload()}
          data-testid="import-upload"
        >
          {busy() ? 'Importing…' : 'Upload'}
        </button>
      </div>
      <Show when={busy()}>
        <div class="import-progress" data-testid="import-progress" data-phase={phase().kind}>
          <Show when={sent() !== null} fallback={<progress />}>
            <progress max="1" value={sent() ?? 0} />
          </Show>
          <span class="hint">
            {sent() !== null ? `Uploading… ${Math.round((sent() ?? 0) * 100)}%` : 'Checking and storing the values…'}
          </span>
        </div>
      </Show>
      <Show when={outcome()}>{(o) => <ImportResult outcome={o().outcome} skipInvalid={o().skipInvalid} />}</Show>
    </section>
  )
}

function RowErrors(props: { errors: RowError[] }): JSX.Element {
  return (
    <table class="data" data-testid="import-errors">
      <thead>
        <tr>
          <th>Row</th>
          <th>Problem</th>
        </tr>
      </thead>
      <tbody>
        <For each={props.errors}>
          {(e) => (
            <tr data-row={e.row}>
              <td>{rowName(e.row)}</td>
              <td>{e.reason}</td>
            </tr>
          )}
        </For>
      </tbody>
    </table>
  )
}

/** " (the first 100 are listed)" when only some of the bad rows are. */
function ListedNote(props: { bad: BadRows; listed: RowError[] }): JSX.Element {
  return <Show when={partlyListed(props.bad, props.listed)}> (the first {props.listed.length} are listed)</Show>
}

/** `skipInvalid`: whether the upload asked to skip bad rows (then a refusal means no row was good). */
function ImportResult(props: { outcome: ImportOutcome; skipInvalid: boolean }): JSX.Element {
  const of =
    <K extends ImportOutcome['kind']>(kind: K) =>
    () =>
      props.outcome.kind === kind ? (props.outcome as Extract<ImportOutcome, { kind: K }>) : null
  const stored = of('stored')
  const rejected = of('rejected')
  const failed = of('failed')
  return (
    <div class="import-result" data-testid="import-result" data-kind={props.outcome.kind}>
      <Switch>
        <Match when={stored()}>
          {(o) => (
            <>
              <p class="ok-text" data-testid="import-message">
                Stored <strong data-testid="import-count">{count(o().imported)}</strong> value
                {o().imported === 1 ? '' : 's'}
                <Show when={o().skipped.count > 0}>
                  ;{' '}
                  <strong class="degraded" data-testid="import-skipped">
                    {rowsText(o().skipped)}
                  </strong>{' '}
                  {o().skipped.count === 1 && !o().skipped.atLeast ? 'was' : 'were'} skipped
                </Show>{' '}
                ({o().mode === 'replace' ? 'replaced the previous values' : 'merged into the current values'}).
              </p>
              <Show when={o().listed.length > 0}>
                <p class="hint degraded">
                  Skipped rows
                  <ListedNote bad={o().skipped} listed={o().listed} />:
                </p>
                <RowErrors errors={o().listed} />
              </Show>
            </>
          )}
        </Match>
        <Match when={rejected()}>
          {(o) => (
            <>
              <p class="error" data-testid="import-message">
                {o().message}.{' '}
                {props.skipInvalid
                  ? 'No row of the file could be stored; fix these rows and upload again'
                  : 'Fix these rows and upload again, or tick "Skip invalid rows" to store the good ones'}
                <ListedNote bad={o().invalid} listed={o().listed} />:
              </p>
              <RowErrors errors={o().listed} />
            </>
          )}
        </Match>
        <Match when={failed()}>
          {(o) => (
            <p class="error" data-testid="import-message">
              The import failed: {o().message}
            </p>
          )}
        </Match>
      </Switch>
    </div>
  )
}
