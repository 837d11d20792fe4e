import type { Label, LabelInput, LabelType } from '../../../shared/schemas/label.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import type { ProjectedLabel } from '../../../shared/doc/projection.ts'
import { DEFAULT_GROUP_ID } from '../../../shared/schemas/group.ts'

/** The editor's working copy of a label definition. */
export type LabelDraft = Omit<Label, 'id' | 'createdAt' | 'updatedAt'>

/** A draft for a new label in a group, or from an existing label. */
export function draftFrom(label: ProjectedLabel | undefined, groupId: string | undefined, rule: Rule): LabelDraft {
  if (label) {
    const { name, displayName, groupId: g, dataType, labelType, schedule, enabled, description, rule: r } = label
    // Store values are proxies (structuredClone refuses them); labels are plain JSON.
    return {
      name,
      displayName,
      groupId: g,
      dataType,
      labelType,
      schedule: { ...schedule },
      enabled,
      description,
      rule: JSON.parse(JSON.stringify(r)) as Rule,
    }
  }
  return {
    name: '',
    displayName: '',
    groupId: groupId ?? DEFAULT_GROUP_ID,
    dataType: 'string',
    labelType: 'dynamic',
    schedule: { kind: 'daily', at: '02:00' },
    enabled: true,
    description: '',
    rule,
  }
}

/** Switching label type keeps the schedule consistent with it (static = once, dynamic = timed). */
export function withLabelType(d: LabelDraft, labelType: LabelType): LabelDraft {
  if (labelType === 'static') return { ...d, labelType, schedule: { kind: 'once' } }
  return { ...d, labelType, schedule: d.schedule.kind === 'once' ? { kind: 'daily', at: '02:00' } : d.schedule }
}

/** The POST body for a new label. */
export function toInput(d: LabelDraft): LabelInput {
  return { ...d }
}

/** The PATCH body: only fields that differ from the label as it was when the editor opened. */
export function toPatch(d: LabelDraft, before: LabelDraft): Partial<LabelInput> {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(d) as Array<keyof LabelDraft>)
    if (JSON.stringify(d[k]) !== JSON.stringify(before[k])) out[k] = d[k]
  return out as Partial<LabelInput>
}

/** Which form field a JSON path like /rule/values/0/when/event belongs to. */
export function fieldOfPath(path: string | undefined | null): string | null {
  if (!path) return null
  const first = path.replace(/^\/body/, '').split('/')[1] ?? ''
  return first || null
}
