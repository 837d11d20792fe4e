import { createEffect, createMemo, createSignal, For, onCleanup, Show, type JSX } from 'solid-js'
import type { TSchema } from 'typebox'
import { LabelsError } from '../../../shared/errors.ts'
import { LabelInput, type DataType, type Schedule } from '../../../shared/schemas/label.ts'
import type { Rule, RuleMethod } from '../../../shared/schemas/rule.ts'
import { check } from '../../../shared/schemas/validate.ts'
import { ApiError } from '../../api/http.ts'
import type { LabelView } from '../../api/types.ts'
import { PreviewPanel } from '../../preview/preview-panel.tsx'
import { useSession } from '../../session.tsx'
import { PresenceDots } from '../../ui/presence-dots.tsx'
import { draftFrom, fieldOfPath, toInput, toPatch, withLabelType, type LabelDraft } from './label-form-state.ts'
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
      check(schema, input[k], `/${k}`)
    } catch (e) {
      if (e instanceof LabelsError) out.push({ path: e.path ?? `/${k}`, message: e.message })
      else throw e
    }
  }
  return out
}

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']

/** Create or edit a label: fields, schedule, rule (structured form + JSON), preview, validation at paths. */
export function LabelEditor(props: { labelId?: string; groupId?: string; onClose: () => void }): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const existing = props.labelId ? ws.view.labels.find((l) => l.id === props.labelId) : undefined
  const initial = draftFrom(existing, props.groupId, defaultRule('custom', s.schema()))
  const [draft, setDraft] = createSignal<LabelDraft>(initial)
  const [serverError, setServerError] = createSignal<FieldError | null>(null)
  const [previewPath, setPreviewPath] = createSignal<string | null>(null)
  const [saving, setSaving] = createSignal(false)
  const [jsonText, setJsonText] = createSignal(JSON.stringify(initial.rule, null, 2))
  const [jsonError, setJsonError] = createSignal<string | null>(null)
  let jsonFocused = false
  if (existing) ws.presence.setEditing({ kind: 'label', id: existing.id })
  onCleanup(() => ws.presence.setEditing(null))

  const [touched, setTouched] = createSignal<Set<string>>(new Set(existing ? Object.keys(initial) : []))
  const set = (p: Partial<LabelDraft>) => {
    setServerError(null)
    setTouched((t) => new Set([...t, ...Object.keys(p)]))
    setDraft((d) => ({ ...d, ...p }))
  }
  const setRule = (rule: Rule) => set({ rule, dataType: dataTypeFor(rule, draft().dataType) })
  // The JSON editor mirrors the rule unless the operator is typing in it.
  createEffect(() => {
    const text = JSON.stringify(draft().rule, null, 2)
    if (!jsonFocused) setJsonText(text)
  })
  const onJson = (text: string) => {
    setJsonText(text)
    try {
      const parsed = JSON.parse(text) as Rule
      if (!parsed || typeof parsed !== 'object' || typeof parsed.method !== 'string') throw new Error('a rule is an object with a "method"')
      setJsonError(null)
      setRule(parsed)
    } catch (e) {
      setJsonError((e as Error).message)
    }
  }
  const local = createMemo(() => localErrors(draft()))
  // Local errors show once a field was touched (or on save); server errors always.
  const shown = () => [...(serverError() ? [serverError()!] : []), ...local().filter((e) => touched().has(fieldOfPath(e.path) ?? ''))]
  const errorFor = (field: string) => shown().find((e) => fieldOfPath(e.path) === field)?.message ?? null
  const ruleErrorPath = () => {
    const e = shown().find((x) => fieldOfPath(x.path) === 'rule')
    if (e) return e
    const p = previewPath()
    return p && fieldOfPath(p) === 'rule' ? { path: p, message: '' } : null
  }
  const previewDef = createMemo(() => (local().some((e) => fieldOfPath(e.path) === 'rule' || fieldOfPath(e.path) === 'dataType') || jsonError() ? null : { dataType: draft().dataType, rule: draft().rule }))
  const conflictNote = () => {
    const n = draft().name
    const other = ws.view.labels.find((l) => l.name === n && l.id !== props.labelId)
    return other ? `the name ${n} is taken by "${other.displayName}"` : null
  }

  const save = async () => {
    const d = draft()
    if (local().length) {
      setTouched(new Set(Object.keys(d)))
      return
    }
    setSaving(true)
    try {
      const out = existing
        ? await s.api.send<LabelView>('PATCH', `/api/labels/${existing.id}`, toPatch(d, initial))
        : await s.api.send<LabelView>('POST', '/api/labels', toInput(d))
      s.toasts.show('info', existing ? `Saved ${out.name}` : `Created ${out.name}; calculating…`)
      props.onClose()
      s.selectLabel(out.id)
    } catch (err) {
      if (err instanceof ApiError) setServerError({ path: err.path ?? '/', message: err.message })
      else setServerError({ path: '/', message: (err as Error).message })
    } finally {
      setSaving(false)
    }
  }

  const scheduleFields = (sch: Schedule) => (
    <Show when={sch.kind !== 'once'}>
      <select value={sch.kind} onChange={(e) => {
        const k = e.currentTarget.value
        const at = 'at' in sch ? sch.at : '02:00'
        set({ schedule: k === 'weekly' ? { kind: 'weekly', weekday: 1, at } : k === 'monthly' ? { kind: 'monthly', day: 1, at } : { kind: 'daily', at } })
      }} data-testid="schedule-kind">
        <option value="daily">every day</option>
        <option value="weekly">every week</option>
        <option value="monthly">every month</option>
      </select>
      <Show when={sch.kind === 'weekly' ? sch : null}>
        {(w) => <select value={w().weekday} onChange={(e) => set({ schedule: { ...w(), weekday: Number(e.currentTarget.value) } })}><For each={weekdays}>{(d, i) => <option value={i() + 1}>on {d}</option>}</For></select>}
      </Show>
      <Show when={sch.kind === 'monthly' ? sch : null}>
        {(m) => <label class="inline">on day <input type="number" min="1" max="31" class="narrow" value={m().day} onChange={(e) => set({ schedule: { ...m(), day: Math.max(1, Math.min(31, Number(e.currentTarget.value) || 1)) } })} /></label>}
      </Show>
      <Show when={'at' in sch ? sch : null}>
        {(t) => <label class="inline">at <input type="time" value={t().at} onChange={(e) => set({ schedule: { ...t(), at: e.currentTarget.value } as Schedule })} /></label>}
      </Show>
    </Show>
  )

  const FieldError = (p: { field: string }) => (
    <Show when={errorFor(p.field)}>{(m) => <div class="field-error" data-testid={`error-${p.field}`}>{m()}</div>}</Show>
  )

  const groupsFlat = () => ws.view.groups.flatMap((g) => [{ id: g.id, name: g.name }, ...g.children.map((c) => ({ id: c.id, name: `${g.name} › ${c.name}` }))])

  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={existing ? 'Edit label' : 'New label'} data-testid="label-editor">
        <header class="modal-head">
          <h2>{existing ? `Edit ${existing.displayName}` : 'New label'}</h2>
          <Show when={existing}>{(l) => <PresenceDots peers={ws.presence.busyWith('label', l().id)} />}</Show>
          <button type="button" class="icon-btn" aria-label="Close" onClick={() => props.onClose()}>×</button>
        </header>
        <div class="modal-body">
          <form class="label-form" onSubmit={(e) => { e.preventDefault(); void save() }}>
            <div class="grid2">
              <label class="field">
                <span>Name</span>
                <input value={draft().name} placeholder="lower_case_name" onInput={(e) => set({ name: e.currentTarget.value })} data-testid="field-name" />
                <FieldError field="name" />
                <Show when={conflictNote()}>{(c) => <div class="field-error">{c()}</div>}</Show>
              </label>
              <label class="field">
                <span>Display name</span>
                <input value={draft().displayName} onInput={(e) => set({ displayName: e.currentTarget.value })} data-testid="field-display-name" />
                <FieldError field="displayName" />
              </label>
              <label class="field">
                <span>Group</span>
                <select value={draft().groupId} onChange={(e) => set({ groupId: e.currentTarget.value })} data-testid="field-group">
                  <For each={groupsFlat()}>{(g) => <option value={g.id}>{g.name}</option>}</For>
                </select>
                <FieldError field="groupId" />
              </label>
              <label class="field">
                <span>Data type</span>
                <select value={draft().dataType} onChange={(e) => set({ dataType: e.currentTarget.value as DataType })} data-testid="field-data-type">
                  <option value="string">string</option>
                  <option value="number">number</option>
                  <option value="collection">collection</option>
                  <option value="date">date</option>
                  <option value="boolean">boolean</option>
                </select>
                <FieldError field="dataType" />
              </label>
              <div class="field">
                <span>Label type</span>
                <div class="inline">
                  <select value={draft().labelType} onChange={(e) => setDraft((d) => withLabelType(d, e.currentTarget.value as LabelDraft['labelType']))} data-testid="field-label-type">
                    <option value="dynamic">dynamic</option>
                    <option value="static">static (once)</option>
                  </select>
                  {scheduleFields(draft().schedule)}
                </div>
                <FieldError field="schedule" />
                <FieldError field="labelType" />
              </div>
              <label class="field checkbox">
                <input type="checkbox" checked={draft().enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} />
                <span>Enabled (available and scheduled)</span>
              </label>
            </div>
            <label class="field">
              <span>Introduction</span>
              <textarea rows={2} value={draft().description} maxLength={2000} onInput={(e) => set({ description: e.currentTarget.value })} />
              <FieldError field="description" />
            </label>
            <fieldset class="rule">
              <legend>Rule</legend>
              <label class="field">
                <span>Creation method</span>
                <select value={draft().rule.method} onChange={(e) => setRule(defaultRule(e.currentTarget.value as RuleMethod, s.schema()))} data-testid="field-method">
                  <For each={Object.entries(methodNames)}>{([m, n]) => <option value={m}>{n}</option>}</For>
                </select>
              </label>
              <Show when={ruleErrorPath()}>
                {(e) => (
                  <div class="field-error" data-testid="error-rule">
                    at <code>{e().path}</code>{e().message ? `: ${e().message}` : ' (see preview)'}
                  </div>
                )}
              </Show>
              <RuleForm rule={draft().rule} dataType={draft().dataType} schema={s.schema()} onChange={setRule} />
              <details class="json-editor">
                <summary>Rule JSON (full rule)</summary>
                <textarea
                  class="json"
                  rows={12}
                  spellcheck={false}
                  value={jsonText()}
                  onFocus={() => (jsonFocused = true)}
                  onBlur={() => { jsonFocused = false; if (!jsonError()) setJsonText(JSON.stringify(draft().rule, null, 2)) }}
                  onInput={(e) => onJson(e.currentTarget.value)}
                  data-testid="rule-json"
                />
                <Show when={jsonError()}>{(m) => <div class="field-error">JSON: {m()}</div>}</Show>
              </details>
            </fieldset>
            <Show when={serverError() && !['name', 'displayName', 'groupId', 'dataType', 'schedule', 'labelType', 'description', 'rule'].includes(fieldOfPath(serverError()?.path) ?? '')}>
              <div class="field-error" data-testid="error-form">{serverError()?.message}</div>
            </Show>
            <footer class="modal-foot">
              <button type="button" class="btn" onClick={() => props.onClose()}>Cancel</button>
              <button type="submit" class="btn primary" disabled={saving() || !!jsonError() || !s.canEdit} data-testid="save-label">
                {saving() ? 'Saving…' : existing ? 'Save' : 'Create label'}
              </button>
            </footer>
          </form>
          <PreviewPanel def={previewDef()} onPathError={setPreviewPath} />
        </div>
      </div>
    </div>
  )
}
