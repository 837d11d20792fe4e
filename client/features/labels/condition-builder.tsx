import { createEffect, createSignal, Index, Show, type JSX } from 'solid-js'
import { ruleLimits } from '../../../shared/limits.ts'
import type { Condition } from '../../../shared/schemas/rule.ts'
import type { DataSchema } from '../../api/types.ts'
import {
  addChild,
  canNest,
  childrenOf,
  kindOf,
  negate,
  newAttribute,
  newBehaviour,
  parseConditionJson,
  removeChild,
  switchKind,
  withChildren,
  type ConditionKind,
} from './condition-tree.ts'
import './condition-builder.css'

/** Renders one condition node (the rule form's ConditionInput) at a nesting depth. */
export type RenderCondition = (value: Condition, onChange: (c: Condition) => void, depth: number) => JSX.Element

/** The kinds a node can be switched to, in the kind select; "json" types the node as JSON. */
export const kindChoices: ReadonlyArray<{ value: ConditionKind | 'json'; text: string }> = [
  { value: 'event', text: 'behaviour' },
  { value: 'attribute', text: 'attribute' },
  { value: 'all', text: 'all of (and)' },
  { value: 'any', text: 'any of (or)' },
  { value: 'not', text: 'not' },
  { value: 'json', text: 'JSON' },
]

/** The next value of a node whose kind select changed to `kind` (json keeps the value). */
export const nodeOfKind = (c: Condition, kind: string, schema: DataSchema | undefined): Condition =>
  kind === 'json' ? c : switchKind(c, kind as ConditionKind, schema)

/**
 * An all/any/not node of the visual builder: its children (each rendered by `child`, so they can
 * be groups again, as deep as the rule allows), with remove, negate and add buttons.
 */
export function ConditionGroup(p: {
  value: Condition
  onChange: (c: Condition) => void
  schema: DataSchema | undefined
  depth: number
  child: RenderCondition
}): JSX.Element {
  const kind = () => kindOf(p.value)
  const kids = () => childrenOf(p.value)
  const nest = () => canNest(p.depth)
  const put = (i: number, c: Condition) =>
    p.onChange(
      withChildren(
        p.value,
        kids().map((x, j) => (j === i ? c : x)),
      ),
    )
  return (
    <div class={`condition-group ${kind()}`} data-testid="condition-group" data-kind={kind()} data-depth={p.depth}>
      <Show
        when={kind() !== 'not'}
        fallback={
          <div class="condition-child" data-testid="condition-child">
            {p.child((p.value as { not: Condition }).not, (c) => p.onChange({ not: c }), p.depth + 1)}
          </div>
        }
      >
        <Index each={kids()}>
          {(c, i) => (
            <div class="condition-child" data-testid="condition-child">
              <Show when={i > 0}>
                <span class="condition-joiner">{kind() === 'all' ? 'and' : 'or'}</span>
              </Show>
              <div class="inline">
                {p.child(c(), (next) => put(i, next), p.depth + 1)}
                <button
                  type="button"
                  class="icon-btn"
                  title={'not' in c() ? 'Remove the negation' : 'Negate this condition (not)'}
                  aria-label={'not' in c() ? 'Remove the negation' : 'Negate this condition'}
                  aria-pressed={'not' in c()}
                  disabled={!('not' in c()) && !nest()}
                  onClick={() => put(i, negate(c()))}
                  data-testid="condition-negate"
                >
                  ¬
                </button>
                <button
                  type="button"
                  class="icon-btn"
                  title="Remove this condition"
                  aria-label="Remove this condition"
                  disabled={kids().length < 2}
                  onClick={() => p.onChange(removeChild(p.value, i))}
                  data-testid="condition-remove"
                >
                  ×
                </button>
              </div>
            </div>
          )}
        </Index>
        <Show when={kids().length < ruleLimits.conditionChildren}>
          <div class="inline condition-add">
            <button
              type="button"
              class="link"
              onClick={() => p.onChange(addChild(p.value, newBehaviour(p.schema)))}
              data-testid="condition-add-behaviour"
            >
              + behaviour
            </button>
            <button
              type="button"
              class="link"
              onClick={() => p.onChange(addChild(p.value, newAttribute(p.schema)))}
              data-testid="condition-add-attribute"
            >
              + attribute
            </button>
            <Show when={nest()}>
              <button
                type="button"
                class="link"
                onClick={() => {
                  const inner = [newBehaviour(p.schema)]
                  p.onChange(addChild(p.value, kind() === 'all' ? { any: inner } : { all: inner }))
                }}
                data-testid="condition-add-group"
              >
                + {kind() === 'all' ? 'any of (or)' : 'all of (and)'} group
              </button>
            </Show>
          </div>
        </Show>
      </Show>
    </div>
  )
}

/**
 * A condition typed as JSON: applied while it is a condition, otherwise the reason is shown
 * under the box and the last good condition stays (nothing is silently dropped).
 */
export function ConditionJson(p: { value: Condition; onChange: (c: Condition) => void }): JSX.Element {
  const [text, setText] = createSignal(JSON.stringify(p.value, null, 1))
  const [error, setError] = createSignal<string | null>(null)
  let focused = false
  // Another operator's edit (or the form) changes the value: mirror it unless typing here.
  createEffect(() => {
    const v = JSON.stringify(p.value, null, 1)
    if (!focused) setText(v)
  })
  const onInput = (t: string) => {
    setText(t)
    const r = parseConditionJson(t)
    if (r.ok) {
      setError(null)
      p.onChange(r.value)
    } else setError(r.error)
  }
  return (
    <div class="condition-json">
      <textarea
        class="json small"
        rows={4}
        spellcheck={false}
        aria-label="Condition as JSON"
        aria-invalid={error() !== null}
        value={text()}
        onFocus={() => (focused = true)}
        onBlur={() => {
          focused = false
          if (!error()) setText(JSON.stringify(p.value, null, 1))
        }}
        onInput={(e) => onInput(e.currentTarget.value)}
        data-testid="condition-json"
      />
      <Show when={error()}>
        {(m) => (
          <div class="field-error" role="alert" data-testid="condition-json-error">
            Condition JSON: {m()} — the last valid condition is kept until this is fixed.
          </div>
        )}
      </Show>
    </div>
  )
}
