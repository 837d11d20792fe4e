import { createSignal, For, Match, Show, Switch, type JSX } from 'solid-js'
import type { DataSchema } from '../../api/types.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import { ConditionGroup, ConditionJson, kindChoices, nodeOfKind } from './condition-builder.tsx'
import { kindOf } from './condition-tree.ts'
import { parseTyped } from './typed-values.ts'
import { filterOps, opWords } from '../../../shared/operators.ts'
import { ruleLimits } from '../../../shared/limits.ts'
import type {
  BehaviourCondition,
  CompareOp,
  Condition,
  Filter,
  FilterOp,
  Measure,
  Rule,
  Window,
} from '../../../shared/schemas/rule.ts'

/** `label` names the control for screen readers (a prefix for a control made of several). */
type Props<T> = { value: T; onChange: (v: T) => void; schema: DataSchema | undefined; label?: string }

/** The editor offers `≥` first (the common "at least N times"); the operators themselves are shared/operators.ts's. */
const compareOps: readonly CompareOp[] = ['gte', 'gt', 'eq', 'neq', 'lt', 'lte', 'between']
const propsOf = (schema: DataSchema | undefined, event: string) =>
  schema?.events.find((e) => e.name === event)?.properties ?? []

const showValue = (v: unknown) => (Array.isArray(v) ? v.join(', ') : v === undefined ? '' : String(v))

function EventSelect(p: Props<string>): JSX.Element {
  return (
    <select
      value={p.value}
      onChange={(e) => p.onChange(e.currentTarget.value)}
      aria-label={p.label ?? 'Event'}
      data-testid="rule-event"
    >
      <Show when={!p.schema?.events.some((e) => e.name === p.value)}>
        <option value={p.value}>{p.value}</option>
      </Show>
      <For each={p.schema?.events ?? []}>{(e) => <option value={e.name}>{e.name}</option>}</For>
    </select>
  )
}

function PropertySelect(p: Props<string> & { event: string; only?: string; extra?: string[] }): JSX.Element {
  const list = () => propsOf(p.schema, p.event).filter((x) => !p.only || x.type === p.only)
  return (
    <select value={p.value} onChange={(e) => p.onChange(e.currentTarget.value)} aria-label={p.label ?? 'Property'}>
      <For each={p.extra ?? []}>{(x) => <option value={x}>{x === '$time' ? 'event time' : x}</option>}</For>
      <Show when={!list().some((x) => x.name === p.value) && !(p.extra ?? []).includes(p.value)}>
        <option value={p.value}>{p.value}</option>
      </Show>
      <For each={list()}>
        {(x) => (
          <option value={x.name}>
            {x.name} ({x.type})
          </option>
        )}
      </For>
    </select>
  )
}

function WindowInput(p: Props<Window | undefined>): JSX.Element {
  const kind = () => (!p.value ? 'all' : 'lastDays' in p.value ? 'last' : 'range')
  const name = () => p.label ?? 'Window'
  return (
    <span class="inline">
      <select
        aria-label={name()}
        value={kind()}
        onChange={(e) => {
          const k = e.currentTarget.value
          p.onChange(
            k === 'all'
              ? undefined
              : k === 'last'
                ? { lastDays: 30 }
                : {
                    from: new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10),
                    to: new Date().toISOString().slice(0, 10),
                  },
          )
        }}
      >
        <option value="all">all time</option>
        <option value="last">last N days</option>
        <option value="range">date range</option>
      </select>
      <Switch>
        <Match when={p.value && 'lastDays' in p.value ? p.value : null}>
          {(w) => (
            <input
              type="number"
              min="1"
              class="narrow"
              aria-label={`${name()}: number of days`}
              value={w().lastDays}
              onInput={(e) => p.onChange({ lastDays: Math.max(1, Number(e.currentTarget.value) || 1) })}
              data-testid="rule-last-days"
            />
          )}
        </Match>
        <Match when={p.value && 'from' in p.value ? p.value : null}>
          {(w) => (
            <>
              <input
                type="date"
                aria-label={`${name()} from`}
                value={w().from}
                onChange={(e) => p.onChange({ from: e.currentTarget.value, to: w().to })}
              />
              <input
                type="date"
                aria-label={`${name()} to`}
                value={w().to}
                onChange={(e) => p.onChange({ from: w().from, to: e.currentTarget.value })}
              />
            </>
          )}
        </Match>
      </Switch>
    </span>
  )
}

function MeasureInput(p: Props<Measure | undefined> & { event: string }): JSX.Element {
  const agg = () => p.value?.agg ?? 'count'
  const firstNumeric = () =>
    propsOf(p.schema, p.event).find((x) => x.type === 'number')?.name ?? propsOf(p.schema, p.event)[0]?.name ?? 'amount'
  return (
    <span class="inline">
      <select
        aria-label={p.label ?? 'Measure'}
        value={agg()}
        onChange={(e) => {
          const a = e.currentTarget.value as Measure['agg']
          p.onChange(
            a === 'count' || a === 'days'
              ? { agg: a }
              : { agg: a, property: p.value && 'property' in p.value ? p.value.property : firstNumeric() },
          )
        }}
        data-testid="rule-measure"
      >
        <option value="count">count of events</option>
        <option value="days">active days</option>
        <option value="sum">sum of</option>
        <option value="avg">average of</option>
        <option value="min">minimum of</option>
        <option value="max">maximum of</option>
        <option value="distinct">distinct values of</option>
      </select>
      <Show when={p.value && 'property' in p.value ? p.value : null}>
        {(m) => (
          <PropertySelect
            value={m().property}
            event={p.event}
            schema={p.schema}
            only={m().agg === 'distinct' ? undefined : 'number'}
            label={`${p.label ?? 'Measure'} property`}
            onChange={(property) => p.onChange({ agg: m().agg, property })}
          />
        )}
      </Show>
    </span>
  )
}

function WhereInput(p: Props<Filter[] | undefined> & { event: string }): JSX.Element {
  const list = () => p.value ?? []
  const put = (i: number, f: Filter | null) => {
    const next = [...list()]
    if (f) next[i] = f
    else next.splice(i, 1)
    p.onChange(next.length ? next : undefined)
  }
  const typeOf = (prop: string) => propsOf(p.schema, p.event).find((x) => x.name === prop)?.type
  return (
    <div class="where">
      <For each={list()}>
        {(f, i) => (
          <div class="inline">
            <PropertySelect
              value={f.property}
              event={p.event}
              schema={p.schema}
              label={`Filter ${i() + 1} property`}
              onChange={(property) => put(i(), { ...f, property })}
            />
            <select
              value={f.op}
              aria-label={`Filter ${i() + 1} operator`}
              onChange={(e) => put(i(), { ...f, op: e.currentTarget.value as FilterOp })}
            >
              <For each={filterOps}>{(o) => <option value={o}>{opWords[o]}</option>}</For>
            </select>
            <Show when={f.op !== 'is_set' && f.op !== 'is_not_set'}>
              <input
                value={showValue(f.value)}
                aria-label={`Filter ${i() + 1} value`}
                placeholder={f.op === 'in' || f.op === 'between' ? 'a, b' : 'value'}
                onChange={(e) => put(i(), { ...f, value: parseTyped(e.currentTarget.value, f.op, typeOf(f.property)) })}
              />
            </Show>
            <button
              type="button"
              class="icon-btn"
              title="Remove filter"
              aria-label={`Remove filter ${i() + 1}`}
              onClick={() => put(i(), null)}
            >
              ×
            </button>
          </div>
        )}
      </For>
      <button
        type="button"
        class="link"
        onClick={() =>
          p.onChange([...list(), { property: propsOf(p.schema, p.event)[0]?.name ?? 'property', op: 'eq', value: '' }])
        }
      >
        + where…
      </button>
    </div>
  )
}

/** Event + where + window, shared by every event-based method. */
function ScopeFields(p: {
  rule: { event: string; where?: Filter[]; window?: Window }
  set: (patch: Record<string, unknown>) => void
  schema: DataSchema | undefined
  mark: Mark
}): JSX.Element {
  return (
    <>
      <label class="field" data-field="/rule/event">
        <span>Event {p.mark('/rule/event')}</span>
        <EventSelect value={p.rule.event} schema={p.schema} onChange={(event) => p.set({ event })} />
      </label>
      <label class="field" data-field="/rule/window">
        <span>Window {p.mark('/rule/window')}</span>
        <WindowInput value={p.rule.window} schema={p.schema} onChange={(window) => p.set({ window })} />
      </label>
      <div class="field" data-field="/rule/where">
        <span>Only events {p.mark('/rule/where')}</span>
        <WhereInput
          value={p.rule.where}
          event={p.rule.event}
          schema={p.schema}
          onChange={(where) => p.set({ where })}
        />
      </div>
    </>
  )
}

const isSimpleBehaviour = (c: Condition): c is BehaviourCondition => 'event' in c
const isAttribute = (c: Condition): c is Extract<Condition, { attribute: string }> => 'attribute' in c

/**
 * One custom-value condition: behaviour or attribute as a form, all/any/not as nested groups of
 * conditions (condition-builder.tsx, as deep as the rule allows), or any of them typed as JSON.
 */
function ConditionInput(p: Props<Condition> & { depth?: number }): JSX.Element {
  const [asJson, setAsJson] = createSignal(false)
  const kind = () => (asJson() ? 'json' : kindOf(p.value))
  const attrType = (name: string) => p.schema?.userAttributes.find((a) => a.name === name)?.type
  const name = (what: string) => `${p.label ?? 'Condition'} ${what}`
  return (
    <div class="condition" data-kind={kind()}>
      <select
        aria-label={name('kind')}
        value={kind()}
        onChange={(e) => {
          const k = e.currentTarget.value
          setAsJson(k === 'json')
          p.onChange(nodeOfKind(p.value, k, p.schema))
        }}
        data-testid="condition-kind"
      >
        <For each={kindChoices}>{(k) => <option value={k.value}>{k.text}</option>}</For>
      </select>
      <Switch>
        <Match when={kind() === 'event' && isSimpleBehaviour(p.value) ? p.value : null}>
          {(c) => (
            <span class="inline">
              <MeasureInput
                value={c().measure}
                event={c().event}
                schema={p.schema}
                label={name('measure')}
                onChange={(measure) =>
                  p.onChange({ ...c(), ...(measure && measure.agg !== 'count' ? { measure } : { measure: undefined }) })
                }
              />
              <span>of</span>
              <EventSelect
                value={c().event}
                schema={p.schema}
                label={name('event')}
                onChange={(event) => p.onChange({ ...c(), event })}
              />
              <WindowInput
                value={c().window}
                schema={p.schema}
                label={name('window')}
                onChange={(window) => p.onChange({ ...c(), window })}
              />
              <select
                aria-label={name('comparison')}
                value={c().op}
                onChange={(e) =>
                  p.onChange({
                    ...c(),
                    op: e.currentTarget.value as CompareOp,
                    value: e.currentTarget.value === 'between' ? [0, 1] : typeof c().value === 'number' ? c().value : 1,
                  })
                }
              >
                <For each={compareOps}>{(o) => <option value={o}>{opWords[o]}</option>}</For>
              </select>
              <input
                class="narrow"
                aria-label={name('threshold')}
                value={showValue(c().value)}
                onChange={(e) => {
                  const parts = e.currentTarget.value.split(',').map((x) => Number(x.trim()))
                  p.onChange({ ...c(), value: c().op === 'between' ? [parts[0] ?? 0, parts[1] ?? 0] : (parts[0] ?? 0) })
                }}
              />
            </span>
          )}
        </Match>
        <Match when={kind() === 'attribute' && isAttribute(p.value) ? p.value : null}>
          {(c) => (
            <span class="inline">
              <select
                aria-label={name('attribute')}
                value={c().attribute}
                onChange={(e) => p.onChange({ ...c(), attribute: e.currentTarget.value })}
              >
                <For each={p.schema?.userAttributes ?? []}>
                  {(a) => (
                    <option value={a.name}>
                      {a.name} ({a.type})
                    </option>
                  )}
                </For>
              </select>
              <select
                aria-label={name('operator')}
                value={c().op}
                onChange={(e) => p.onChange({ ...c(), op: e.currentTarget.value as FilterOp })}
              >
                <For each={filterOps}>{(o) => <option value={o}>{opWords[o]}</option>}</For>
              </select>
              <Show when={c().op !== 'is_set' && c().op !== 'is_not_set'}>
                <input
                  aria-label={name('value')}
                  value={showValue(c().value)}
                  onChange={(e) =>
                    p.onChange({ ...c(), value: parseTyped(e.currentTarget.value, c().op, attrType(c().attribute)) })
                  }
                />
              </Show>
            </span>
          )}
        </Match>
        <Match when={kind() === 'all' || kind() === 'any' || kind() === 'not'}>
          <ConditionGroup
            value={p.value}
            onChange={p.onChange}
            schema={p.schema}
            depth={p.depth ?? 1}
            child={(value, onChange, depth) => (
              <ConditionInput value={value} onChange={onChange} schema={p.schema} depth={depth} />
            )}
          />
        </Match>
        <Match when={kind() === 'json'}>
          <ConditionJson value={p.value} onChange={p.onChange} />
        </Match>
      </Switch>
    </div>
  )
}

/** Parses a custom value typed for a data type (collections as comma lists). */
function typedValue(text: string, dataType: DataType): unknown {
  if (dataType === 'number') return Number(text)
  if (dataType === 'boolean') return text.trim() === 'true'
  if (dataType === 'collection')
    return text
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
  return text
}

/** Renders who else is in the field at a draft path (nothing outside a shared draft). */
export type Mark = (path: string) => JSX.Element

/**
 * The structured rule form for the common cases of each creation method. Each part carries its
 * JSON pointer in `data-field` (a layer, the window, the boundaries…), so a shared draft can
 * show which operator is in which part (`mark`).
 */
export function RuleForm(p: {
  rule: Rule
  dataType: DataType
  onChange: (r: Rule) => void
  schema: DataSchema | undefined
  mark?: Mark
  disabled?: boolean
}): JSX.Element {
  const mark: Mark = (path) => p.mark?.(path)
  const set = (patch: Record<string, unknown>) => {
    const next = { ...p.rule, ...patch } as Record<string, unknown>
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k]
    p.onChange(next as unknown as Rule)
  }
  return (
    <fieldset
      class="rule-form"
      data-testid="rule-form"
      disabled={p.disabled}
      style={{ border: 'none', padding: 0, margin: 0 }}
    >
      <Switch>
        <Match when={p.rule.method === 'custom' ? p.rule : null}>
          {(r) => (
            <>
              <ol class="layers">
                <For each={r().values}>
                  {(layer, i) => (
                    <li data-field={`/rule/values/${i()}`} data-testid={`layer-${i()}`}>
                      <span class="inline">
                        {mark(`/rule/values/${i()}`)}
                        <span>Value</span>
                        {/* A fixed-size box (styles.css .relayout-box): another operator's edit of this
                            value is laid out inside it, not from the document down (issue 8). */}
                        <span class="relayout-item">
                          <span class="relayout-box">
                            <input
                              aria-label={`Layer ${i() + 1} value`}
                              value={showValue(layer.value)}
                              onChange={(e) =>
                                set({
                                  values: r().values.map((x, j) =>
                                    j === i() ? { ...x, value: typedValue(e.currentTarget.value, p.dataType) } : x,
                                  ),
                                })
                              }
                              data-testid={`layer-value-${i()}`}
                            />
                          </span>
                        </span>
                        <span>when</span>
                        <button
                          type="button"
                          class="icon-btn"
                          title="Remove layer"
                          aria-label={`Remove layer ${i() + 1}`}
                          disabled={r().values.length < 2}
                          onClick={() => set({ values: r().values.filter((_, j) => j !== i()) })}
                        >
                          ×
                        </button>
                      </span>
                      <ConditionInput
                        value={layer.when}
                        schema={p.schema}
                        label={`Layer ${i() + 1} condition`}
                        onChange={(when) => set({ values: r().values.map((x, j) => (j === i() ? { ...x, when } : x)) })}
                      />
                    </li>
                  )}
                </For>
              </ol>
              <Show when={r().values.length < ruleLimits.layers}>
                <button
                  type="button"
                  class="link"
                  onClick={() =>
                    set({
                      values: [
                        ...r().values,
                        {
                          value: `value ${r().values.length + 1}`,
                          when: { event: p.schema?.events[0]?.name ?? 'purchase', op: 'gte', value: 1 },
                        },
                      ],
                    })
                  }
                >
                  + layer (first match wins)
                </button>
              </Show>
              <label class="field" data-field="/rule/otherwise">
                <span>Otherwise {mark('/rule/otherwise')}</span>
                <input
                  value={showValue(r().otherwise)}
                  placeholder="no value"
                  onChange={(e) =>
                    set({
                      otherwise:
                        e.currentTarget.value === '' ? undefined : typedValue(e.currentTarget.value, p.dataType),
                    })
                  }
                />
              </label>
            </>
          )}
        </Match>
        <Match when={p.rule.method === 'metric' ? p.rule : null}>
          {(r) => (
            <>
              <ScopeFields rule={r()} set={set} schema={p.schema} mark={mark} />
              <label class="field" data-field="/rule/measure">
                <span>Measure {mark('/rule/measure')}</span>
                <MeasureInput
                  value={r().measure}
                  event={r().event}
                  schema={p.schema}
                  onChange={(measure) => set({ measure: measure ?? { agg: 'count' } })}
                />
              </label>
            </>
          )}
        </Match>
        <Match when={p.rule.method === 'first_last' ? p.rule : null}>
          {(r) => (
            <>
              <label class="field" data-field="/rule/which">
                <span>Which {mark('/rule/which')}</span>
                <select value={r().which} onChange={(e) => set({ which: e.currentTarget.value })}>
                  <option value="first">first</option>
                  <option value="last">last</option>
                </select>
              </label>
              <ScopeFields rule={r()} set={set} schema={p.schema} mark={mark} />
              <label class="field" data-field="/rule/property">
                <span>Property {mark('/rule/property')}</span>
                <PropertySelect
                  value={r().property}
                  event={r().event}
                  schema={p.schema}
                  extra={['$time']}
                  onChange={(property) => set({ property })}
                />
              </label>
            </>
          )}
        </Match>
        <Match when={p.rule.method === 'preference' ? p.rule : null}>
          {(r) => (
            <>
              <ScopeFields rule={r()} set={set} schema={p.schema} mark={mark} />
              <label class="field" data-field="/rule/property">
                <span>Property {mark('/rule/property')}</span>
                <PropertySelect
                  value={r().property}
                  event={r().event}
                  schema={p.schema}
                  onChange={(property) => set({ property })}
                />
              </label>
              <label class="field" data-field="/rule/by">
                <span>Ranked by {mark('/rule/by')}</span>
                <MeasureInput
                  value={r().by}
                  event={r().event}
                  schema={p.schema}
                  label="Ranked by"
                  onChange={(by) => set({ by: by?.agg === 'count' ? undefined : by })}
                />
              </label>
              <label class="field" data-field="/rule/top">
                <span>Top {mark('/rule/top')}</span>
                <input
                  type="number"
                  min="1"
                  max={ruleLimits.top}
                  class="narrow"
                  value={r().top ?? 1}
                  onChange={(e) =>
                    set({
                      top:
                        Math.max(1, Math.min(ruleLimits.top, Number(e.currentTarget.value) || 1)) === 1
                          ? undefined
                          : Math.max(1, Math.min(ruleLimits.top, Number(e.currentTarget.value))),
                    })
                  }
                />
              </label>
            </>
          )}
        </Match>
        <Match when={p.rule.method === 'distribution' ? p.rule : null}>
          {(r) => (
            <>
              <ScopeFields rule={r()} set={set} schema={p.schema} mark={mark} />
              <label class="field" data-field="/rule/measure">
                <span>Measure {mark('/rule/measure')}</span>
                <MeasureInput
                  value={r().measure}
                  event={r().event}
                  schema={p.schema}
                  onChange={(measure) => set({ measure: measure ?? { agg: 'count' } })}
                />
              </label>
              <label class="field" data-field="/rule/boundaries">
                <span>Boundaries {mark('/rule/boundaries')}</span>
                <input
                  value={r().boundaries.join(', ')}
                  placeholder="1, 5, 10"
                  onChange={(e) =>
                    set({
                      boundaries: e.currentTarget.value
                        .split(',')
                        .map((x) => Number(x.trim()))
                        .filter((x) => Number.isFinite(x)),
                    })
                  }
                  data-testid="rule-boundaries"
                />
              </label>
              <label class="field" data-field="/rule/names">
                <span>Names {mark('/rule/names')}</span>
                <input
                  value={(r().names ?? []).join(', ')}
                  placeholder={`${r().boundaries.length + 1} names, optional`}
                  onChange={(e) => {
                    const n = e.currentTarget.value
                      .split(',')
                      .map((x) => x.trim())
                      .filter(Boolean)
                    set({ names: n.length ? n : undefined })
                  }}
                />
              </label>
            </>
          )}
        </Match>
        <Match when={p.rule.method === 'import'}>
          <p class="hint">
            Values come from uploaded CSV files (<code>user_id,value</code>) via POST /api/labels/:label/import.
          </p>
        </Match>
      </Switch>
    </fieldset>
  )
}
