import { createEffect, createMemo, createSignal, For, onCleanup, Show, untrack, type JSX } from 'solid-js'
import type { TSchema } from 'typebox'
import * as Y from 'yjs'
import { checkRuleShape, discardDraft, openDraft, updateDraft } from '../../../shared/doc/draft-operations.ts'
import { draftEntry, readDraft, type DraftView, type LabelDefinition } from '../../../shared/doc/drafts.ts'
import { LabelsError } from '../../../shared/errors.ts'
import { DEFAULT_GROUP_ID } from '../../../shared/schemas/group.ts'
import { LabelInput, type DataType, type Schedule } from '../../../shared/schemas/label.ts'
import type { Rule, RuleMethod } from '../../../shared/schemas/rule.ts'
import { check } from '../../../shared/schemas/validate.ts'
import { ApiError } from '../../api/http.ts'
import type { LabelView } from '../../api/types.ts'
import { PreviewPanel } from '../../preview/preview-panel.tsx'
import { BeforeAfter } from '../compare/before-after.tsx'
import { useSession } from '../../session.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import type { Peer } from '../../sync/presence.ts'
import { Modal, ModalClose, ModalContent, ModalTitle } from '../../ui/modal.tsx'
import { PresenceDots } from '../../ui/presence-dots.tsx'
import { describePath, draftStoreOf, draftsOf, fieldOfElement, overwrites, type Overwrite } from './draft-state.ts'
import { isEmptyWorkspace } from '../overview/empty-workspace.tsx'
import { describeField, humanError } from './field-errors.ts'
import { draftFrom, fieldOfPath, toInput, withLabelType, type LabelDraft } from './label-form-state.ts'
import { dataTypeFor, defaultRule } from './rule-defaults.ts'
import { RuleForm } from './rule-form.tsx'
import { methodNames } from './rule-text.ts'

type FieldError = { path: string; message: string }

/** Runs the shared schema check locally, field by field, so every error shows at its path while typing. */
function localErrors(d: LabelDraft): FieldError[] {
  const out: FieldError[] = []
  const input = toInput(d) as unknown as Record<string, unknown>
  for (const [k, schema] of Object.entries(LabelInput.properties) as Array<[string, TSchema]>) {
    if (input[k] === undefined) continue
    try {
      if (k === 'rule') checkRuleShape(input[k]) // names the wrong field, not the union's /rule/method
      check(schema, input[k], `/${k}`)
    } catch (e) {
      if (e instanceof LabelsError) out.push({ path: e.path ?? `/${k}`, message: e.message })
      else throw e
    }
  }
  return out
}

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
const toBase64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''))

/**
 * Create or edit a label on a shared draft (issue 8): opening Edit (or New label) opens or joins
 * the label's draft in the workspace document, every field and the rule are bound live to it,
 * other operators' edits show at once and a marker shows who is in which field. Publish
 * validates on the server and replaces the definition; Discard drops the draft; closing the
 * dialog keeps it.
 */
export function LabelEditor(props: {
  labelId?: string
  groupId?: string
  draftId?: string
  onClose: () => void
}): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  // Without customer data no rule can be calculated yet: a new label starts as an import (issue 9).
  const noData = () => isEmptyWorkspace(s.schema())
  const firstMethod = (): RuleMethod => (noData() ? 'import' : 'custom')
  const drafts = draftStoreOf(ws.doc)
  const editable = () => s.canEdit && ws.ready()
  const label = () => (props.labelId ? ws.view.labels.find((l) => l.id === props.labelId) : undefined)

  // Open (or join) the draft once. Viewers only look at an open draft, or at the label.
  const draftId: string | null =
    props.draftId ??
    (s.canEdit
      ? ws.edit(
          (doc, o) =>
            openDraft(
              doc,
              props.labelId
                ? { labelId: props.labelId }
                : { groupId: props.groupId ?? DEFAULT_GROUP_ID, rule: defaultRule(firstMethod(), s.schema()) },
              o,
            ).id,
        )
      : props.labelId
        ? (drafts.byLabel[props.labelId] ?? null)
        : null)
  // A store proxy: the same object for the editor's life, its fields change one by one (draft-state.ts).
  const draft = () => (draftId ? drafts.byId[draftId] : undefined)
  // Registered as soon as the draft is open, so it also runs if building the editor fails below.
  onCleanup(() => {
    ws.presence.setEditing(null)
    ws.presence.setDraft(null)
    // Closing keeps a draft, except one nobody has written anything in and nobody else has
    // open: opening Edit and closing again shouldn't leave "draft" marks in everyone's tree.
    // Read from the document: the store may not have it yet (the editor failed as it opened).
    const m = draftId ? draftEntry(ws.doc, draftId) : undefined
    const d = m && draftId ? readDraft(draftId, m) : undefined
    if (
      d &&
      draftId &&
      s.canEdit &&
      Object.keys(d.authors).length === 0 &&
      !ws.presence.peers().some((p) => p.draft?.id === draftId)
    )
      ws.edit((doc, o) => discardDraft(doc, draftId, o))
  })
  const existingLabelId = () => draft()?.labelId ?? props.labelId ?? null
  const fallback = draftFrom(label(), props.groupId, defaultRule(firstMethod(), s.schema()))
  const def = (): LabelDefinition => draft()?.definition ?? fallback
  // The same definition as plain objects (the projection of this update): whole-definition work
  // (validation, the preview's and the comparison's keys, the JSON text, authors) reads this, so
  // it neither walks the store's proxies nor subscribes to every leaf of the rule on each update.
  const projection = draftsOf(ws.doc)
  const plain = createMemo(() => (draftId ? projection().byId[draftId] : undefined))
  const plainDef = (): LabelDefinition => plain()?.definition ?? fallback
  const canWrite = () => editable() && !!draft()

  const [serverError, setServerError] = createSignal<FieldError | null>(null)
  const [previewPath, setPreviewPath] = createSignal<string | null>(null)
  const [publishing, setPublishing] = createSignal(false)
  const [jsonText, setJsonText] = createSignal(JSON.stringify(def().rule, null, 2))
  const [jsonError, setJsonError] = createSignal<string | null>(null)
  const [notices, setNotices] = createSignal<Overwrite[]>([])
  let jsonFocused = false
  let wasOpen = !!draft()

  // Presence: this draft and the field I'm in (JSON pointer), for the others' markers.
  const existing = label()
  if (existing) ws.presence.setEditing({ kind: 'label', id: existing.id })
  const setField = (field: string | null) => draftId && ws.presence.setDraft({ id: draftId, field })
  setField(null)
  const draftInfo = (d: DraftView) =>
    `Shared draft · started by ${d.createdBy} · edited by ${d.editors.join(', ')}${
      d.changed.length ? ` · changed: ${d.changed.join(', ')}` : ' · no changes yet'
    } — every operator with this label open sees and edits it live; nothing is calculated until Publish.`
  const peersHere = (): Peer[] => ws.presence.peers().filter((p) => p.draft?.id === draftId)
  const peersAt = (path: string) => peersHere().filter((p) => p.draft?.field === path)
  /** A cursor-like tag per operator whose focus is in this field. */
  const mark = (path: string): JSX.Element => (
    <For each={peersAt(path)}>
      {(p) => (
        <span
          class="field-mark"
          style={{
            background: p.user.color,
            color: 'white',
            'border-radius': '3px',
            padding: '0 4px',
            'font-size': '11px',
            'margin-left': '4px',
          }}
          data-testid="field-mark"
          data-field-mark={path}
          data-peer={p.user.name}
        >
          {p.user.name}
        </span>
      )}
    </For>
  )
  const ring = (path: string) => {
    const p = peersAt(path)[0]
    return p ? { outline: `2px solid ${p.user.color}`, 'outline-offset': '2px', 'border-radius': '4px' } : {}
  }

  // "bob overwrote your change to Display name": a path I wrote last now has another author.
  let lastAuthors: Record<string, string> = plain()?.authors ?? {}
  createEffect(() => {
    const d = plain()
    if (d) wasOpen = true
    const authors = d?.authors ?? {}
    const lost = overwrites(lastAuthors, authors, s.me.name).filter(
      (o) => !untrack(notices).some((n) => n.path === o.path && n.by === o.by),
    )
    lastAuthors = authors
    if (lost.length) setNotices((n) => [...n, ...lost].slice(-4))
  })

  const [touched, setTouched] = createSignal<Set<string>>(new Set(existing ? Object.keys(fallback) : []))
  // This operator's edits of what the preview shows: its debounce restarts on these, not on others' edits.
  let ownPreviewEdits = 0
  const set = (p: Partial<LabelDefinition>) => {
    if (!draftId || !canWrite()) return
    setServerError(null)
    if ('rule' in p || 'dataType' in p) ownPreviewEdits++
    if (Object.keys(p).some((k) => !touched().has(k))) setTouched((t) => new Set([...t, ...Object.keys(p)]))
    // The edit was made from what the form shows (others' edits reach it a frame late): only what
    // it changes from that is written, so a change another operator made meanwhile stays.
    const shown = plainDef()
    const base = Object.fromEntries(Object.keys(p).map((k) => [k, shown[k as keyof LabelDefinition]]))
    ws.edit((doc, o) => updateDraft(doc, draftId, p, o, base))
  }
  const setRule = (rule: Rule) => set({ rule, dataType: dataTypeFor(rule, def().dataType, s.schema()) })
  // The JSON editor mirrors the rule while it is open, unless the operator is typing in it (closed,
  // a remote edit costs no serialisation and no textarea update).
  const [jsonOpen, setJsonOpen] = createSignal(false)
  createEffect(() => {
    if (!jsonOpen()) return
    const text = JSON.stringify(plainDef().rule, null, 2)
    if (!jsonFocused) setJsonText(text)
  })
  const onJson = (text: string) => {
    setJsonText(text)
    try {
      const parsed = JSON.parse(text) as Rule
      if (!parsed || typeof parsed !== 'object' || typeof parsed.method !== 'string')
        throw new Error('a rule is an object with a "method"')
      setJsonError(null)
      setRule(parsed)
    } catch (e) {
      setJsonError((e as Error).message)
    }
  }
  // Same errors, same array: nothing downstream re-runs for an edit that changes no error.
  const local = createMemo(() => localErrors(plainDef()), [], {
    equals: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  })
  // Local errors show once a field was touched (or on publish); server errors always.
  const shown = () => [
    ...(serverError() ? [serverError()!] : []),
    ...local().filter((e) => touched().has(fieldOfPath(e.path) ?? '')),
  ]
  const errorFor = (field: string) => {
    const e = shown().find((x) => fieldOfPath(x.path) === field)
    return e ? humanError(e.path, e.message) : null
  }
  const ruleErrorPath = () => {
    const e = shown().find((x) => fieldOfPath(x.path) === 'rule')
    if (e) return e
    const p = previewPath()
    return p && fieldOfPath(p) === 'rule' ? { path: p, message: '' } : null
  }
  // The preview gets a plain copy, and a new one only when the rule or data type really changed.
  const previewKey = createMemo(() =>
    noData() ||
    plainDef().rule.method === 'import' || // nothing to preview: values come from files
    local().some((e) => fieldOfPath(e.path) === 'rule' || fieldOfPath(e.path) === 'dataType') ||
    jsonError()
      ? null
      : JSON.stringify({ dataType: plainDef().dataType, rule: plainDef().rule }),
  )
  const previewDef = createMemo(() => {
    const k = previewKey()
    return k === null ? null : (JSON.parse(k) as { dataType: DataType; rule: Rule })
  })
  const conflictNote = () => {
    const n = def().name
    const other = ws.view.labels.find((l) => l.name === n && l.id !== existingLabelId())
    return other ? `the name ${n} is taken by "${other.displayName}"` : null
  }

  const publish = async () => {
    if (!draftId) return
    if (local().length) {
      setTouched(new Set(Object.keys(def())))
      return
    }
    setPublishing(true)
    try {
      // The server waits until it holds this page's edits (the last keystroke may still be on the socket).
      const after = toBase64(Y.encodeStateVector(ws.doc))
      const out = await s.api.send<LabelView>('POST', `/api/drafts/${encodeURIComponent(draftId)}/publish`, { after })
      s.toasts.show('info', existingLabelId() ? `Published ${out.name}` : `Created ${out.name}; calculating…`)
      props.onClose()
      s.selectLabel(out.id)
    } catch (err) {
      if (err instanceof ApiError) setServerError({ path: err.path ?? '/', message: err.message })
      else setServerError({ path: '/', message: (err as Error).message })
    } finally {
      setPublishing(false)
    }
  }
  const discard = () => {
    if (!draftId) return
    ws.edit((doc, o) => discardDraft(doc, draftId, o))
    s.toasts.show('info', 'Draft discarded')
    props.onClose()
  }

  const scheduleFields = (sch: Schedule) => (
    <Show when={sch.kind !== 'once'}>
      <select
        value={sch.kind}
        onChange={(e) => {
          const k = e.currentTarget.value
          const at = 'at' in sch ? sch.at : '02:00'
          set({
            schedule:
              k === 'weekly'
                ? { kind: 'weekly', weekday: 1, at }
                : k === 'monthly'
                  ? { kind: 'monthly', day: 1, at }
                  : { kind: 'daily', at },
          })
        }}
        aria-label="Schedule"
        data-testid="schedule-kind"
      >
        <option value="daily">every day</option>
        <option value="weekly">every week</option>
        <option value="monthly">every month</option>
      </select>
      <Show when={sch.kind === 'weekly' ? sch : null}>
        {(w) => (
          <select
            aria-label="Weekday"
            value={w().weekday}
            onChange={(e) => set({ schedule: { ...w(), weekday: Number(e.currentTarget.value) } })}
          >
            <For each={weekdays}>{(d, i) => <option value={i() + 1}>on {d}</option>}</For>
          </select>
        )}
      </Show>
      <Show when={sch.kind === 'monthly' ? sch : null}>
        {(m) => (
          <label class="inline">
            on day{' '}
            <input
              type="number"
              min="1"
              max="31"
              class="narrow"
              value={m().day}
              onChange={(e) =>
                set({ schedule: { ...m(), day: Math.max(1, Math.min(31, Number(e.currentTarget.value) || 1)) } })
              }
            />
          </label>
        )}
      </Show>
      <Show when={'at' in sch ? sch : null}>
        {(t) => (
          <label class="inline">
            at{' '}
            <input
              type="time"
              value={t().at}
              onChange={(e) => set({ schedule: { ...t(), at: e.currentTarget.value } as Schedule })}
            />
          </label>
        )}
      </Show>
    </Show>
  )

  const FieldError = (p: { field: string }) => (
    <Show when={errorFor(p.field)}>
      {(m) => (
        <div class="field-error" data-testid={`error-${p.field}`}>
          {m()}
        </div>
      )}
    </Show>
  )

  const groupsFlat = () =>
    ws.view.groups.flatMap((g) => [
      { id: g.id, name: g.name },
      ...g.children.map((c) => ({ id: c.id, name: `${g.name} › ${c.name}` })),
    ])
  const title = () => (existingLabelId() ? `Edit ${label()?.displayName ?? def().displayName}` : 'New label')

  // A modal (Kobalte): focus on the first field, Escape or a click outside closes it (the draft stays).
  return (
    <Modal onClose={props.onClose}>
      <ModalContent
        class="modal"
        aria-label={existingLabelId() ? 'Edit label' : 'New label'}
        initialFocus="form input:enabled, form select:enabled"
        data-testid="label-editor"
        data-draft-id={draftId ?? ''}
      >
        <div class="modal-head">
          <ModalTitle as="h2">{title()}</ModalTitle>
          <PresenceDots peers={peersHere()} />
          <ModalClose class="icon-btn" aria-label="Close" data-testid="close-editor">
            ×
          </ModalClose>
        </div>
        <div class="modal-body">
          {/* Across both columns, above the form (left) and the preview (right). */}
          <div class="modal-notes">
            <Show
              when={draft()}
              fallback={
                <p class="hint" data-testid="draft-closed">
                  {wasOpen
                    ? 'This draft is closed: another operator published or discarded it.'
                    : s.canEdit
                      ? 'Could not open a draft.'
                      : 'Read only: you are a viewer and this label has no open draft.'}
                </p>
              }
            >
              {(d) => (
                // One line, the rest in its tooltip: a field committed on blur as the pointer goes down on
                // Publish adds to "changed", and must not move the buttons under the pointer.
                <div class="draft-info hint" data-testid="draft-info" title={draftInfo(d())}>
                  {draftInfo(d())}
                </div>
              )}
            </Show>
            <Show when={noData()}>
              <p class="hint degraded" role="status" data-testid="editor-no-data">
                This workspace has no customer data yet, so rules on events or attributes can't be checked or
                calculated: load users and events first (the overview says how). An import label (values from a CSV
                file) works without them.
              </p>
            </Show>
            <For each={notices()}>
              {(n) => (
                <div class="field-error" role="status" data-testid="overwrite-notice">
                  {n.by} overwrote your change to {describePath(n.path)}{' '}
                  <button
                    type="button"
                    class="link"
                    onClick={() => setNotices((l) => l.filter((x) => x !== n))}
                    data-testid="dismiss-notice"
                  >
                    Dismiss
                  </button>
                </div>
              )}
            </For>
          </div>
          <form
            class="label-form"
            data-testid="label-form"
            onSubmit={(e) => {
              e.preventDefault()
              void publish()
            }}
            onFocusIn={(e) => setField(fieldOfElement(e.target))}
            onFocusOut={(e) => {
              if (!(e.currentTarget as Element).contains(e.relatedTarget as Node | null)) setField(null)
            }}
          >
            <fieldset disabled={!canWrite()} style={{ border: 'none', padding: 0, margin: 0 }}>
              <div class="grid2">
                <label class="field" data-field="/name" style={ring('/name')}>
                  <span>Name {mark('/name')}</span>
                  <input
                    value={def().name}
                    placeholder="lower_case_name"
                    onInput={(e) => set({ name: e.currentTarget.value })}
                    data-testid="field-name"
                  />
                  <FieldError field="name" />
                  <Show when={conflictNote()}>{(c) => <div class="field-error">{c()}</div>}</Show>
                </label>
                <label class="field" data-field="/displayName" style={ring('/displayName')}>
                  <span>Display name {mark('/displayName')}</span>
                  <input
                    value={def().displayName}
                    onInput={(e) => set({ displayName: e.currentTarget.value })}
                    data-testid="field-display-name"
                  />
                  <FieldError field="displayName" />
                </label>
                <label class="field" data-field="/groupId" style={ring('/groupId')}>
                  <span>Group {mark('/groupId')}</span>
                  <select
                    value={def().groupId}
                    onChange={(e) => set({ groupId: e.currentTarget.value })}
                    data-testid="field-group"
                  >
                    <For each={groupsFlat()}>{(g) => <option value={g.id}>{g.name}</option>}</For>
                  </select>
                  <FieldError field="groupId" />
                </label>
                <label class="field" data-field="/dataType" style={ring('/dataType')}>
                  <span>Data type {mark('/dataType')}</span>
                  <select
                    value={def().dataType}
                    onChange={(e) => set({ dataType: e.currentTarget.value as DataType })}
                    data-testid="field-data-type"
                  >
                    <option value="string">string</option>
                    <option value="number">number</option>
                    <option value="collection">collection</option>
                    <option value="date">date</option>
                    <option value="boolean">boolean</option>
                  </select>
                  <FieldError field="dataType" />
                </label>
                <div class="field" data-field="/schedule" style={ring('/schedule')}>
                  <span>Label type {mark('/schedule')}</span>
                  <div class="inline">
                    <select
                      aria-label="Label type"
                      value={def().labelType}
                      onChange={(e) => {
                        const next = withLabelType(def(), e.currentTarget.value as LabelDraft['labelType'])
                        set({ labelType: next.labelType, schedule: next.schedule })
                      }}
                      data-testid="field-label-type"
                    >
                      <option value="dynamic">dynamic</option>
                      <option value="static">static (once)</option>
                    </select>
                    {scheduleFields(def().schedule)}
                  </div>
                  <FieldError field="schedule" />
                  <FieldError field="labelType" />
                </div>
                <label class="field checkbox" data-field="/enabled">
                  <input
                    type="checkbox"
                    checked={def().enabled}
                    onChange={(e) => set({ enabled: e.currentTarget.checked })}
                  />
                  <span>Enabled (available and scheduled) {mark('/enabled')}</span>
                </label>
              </div>
              <label class="field" data-field="/description" style={ring('/description')}>
                <span>Introduction {mark('/description')}</span>
                <textarea
                  rows={2}
                  value={def().description}
                  maxLength={2000}
                  onInput={(e) => set({ description: e.currentTarget.value })}
                />
                <FieldError field="description" />
              </label>
              <fieldset class="rule">
                <legend>Rule</legend>
                <label class="field" data-field="/rule/method">
                  <span>Creation method {mark('/rule/method')}</span>
                  <select
                    value={def().rule.method}
                    onChange={(e) => setRule(defaultRule(e.currentTarget.value as RuleMethod, s.schema()))}
                    data-testid="field-method"
                  >
                    <For each={Object.entries(methodNames)}>{([m, n]) => <option value={m}>{n}</option>}</For>
                  </select>
                </label>
                <Show when={ruleErrorPath()}>
                  {(e) => (
                    <div class="field-error" data-testid="error-rule">
                      {e().message ? humanError(e().path, e().message) : `${describeField(e().path)} (see preview)`}
                    </div>
                  )}
                </Show>
                <RuleForm
                  rule={def().rule}
                  dataType={def().dataType}
                  schema={s.schema()}
                  onChange={setRule}
                  mark={mark}
                />
                <details
                  class="json-editor"
                  data-field="/rule/json"
                  onToggle={(e) => setJsonOpen(e.currentTarget.open)}
                >
                  <summary>Rule JSON (full rule) {mark('/rule/json')}</summary>
                  <textarea
                    class="json"
                    aria-label="Rule JSON (full rule)"
                    rows={12}
                    spellcheck={false}
                    value={jsonText()}
                    onFocus={() => (jsonFocused = true)}
                    onBlur={() => {
                      jsonFocused = false
                      if (!jsonError()) setJsonText(JSON.stringify(plainDef().rule, null, 2))
                    }}
                    onInput={(e) => onJson(e.currentTarget.value)}
                    data-testid="rule-json"
                  />
                  <Show when={jsonError()}>{(m) => <div class="field-error">JSON: {m()}</div>}</Show>
                </details>
              </fieldset>
            </fieldset>
            <Show
              when={
                serverError() &&
                ![
                  'name',
                  'displayName',
                  'groupId',
                  'dataType',
                  'schedule',
                  'labelType',
                  'description',
                  'rule',
                ].includes(fieldOfPath(serverError()?.path) ?? '')
              }
            >
              <div class="field-error" data-testid="error-form">
                {humanError(serverError()?.path, serverError()?.message ?? '')}
              </div>
            </Show>
            <div class="modal-foot">
              <button
                type="button"
                class="btn"
                onClick={() => props.onClose()}
                title="The draft stays open for you and the others"
                data-testid="keep-draft"
              >
                Close (keep draft)
              </button>
              <button
                type="button"
                class="btn danger"
                onClick={discard}
                disabled={!canWrite()}
                data-testid="discard-draft"
              >
                Discard draft
              </button>
              <button
                type="submit"
                class="btn primary"
                disabled={publishing() || !!jsonError() || !canWrite() || !online()}
                title={needsServer('Publishing')}
                data-testid="save-label"
              >
                {publishing() ? 'Publishing…' : existingLabelId() ? 'Publish' : 'Create label'}
              </button>
            </div>
          </form>
          <div>
            <PreviewPanel def={previewDef()} onPathError={setPreviewPath} ownEdits={() => ownPreviewEdits} />
            <Show when={existingLabelId()}>
              {(id) => <BeforeAfter labelId={id()} rule={plainDef().rule} dataType={plainDef().dataType} />}
            </Show>
          </div>
        </div>
      </ModalContent>
    </Modal>
  )
}
