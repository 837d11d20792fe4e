import { Type } from 'typebox'
import { DataType } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { check } from '../../shared/schemas/validate.ts'
import type { Catalogue } from '../storage/catalogue.ts'
import type { RuleNode } from './ir.ts'
import { guardDepth } from './depth-guard.ts'
import { resolveRule } from './resolve-rule.ts'

const DefinitionSchema = Type.Object({ dataType: DataType, rule: Rule })

/**
 * Checks a definition: malformed shape → LabelsError('bad_request') (400); well-formed but
 * not fitting the catalogue or the data type, or over a limit → LabelsError('invalid') (422).
 * Both carry the JSON path. Returns the resolved rule tree.
 */
export function validateDefinition(def: unknown, catalogue: Catalogue): RuleNode {
  guardDepth(def)
  const d = check<{ dataType: DataType; rule: Rule }>(DefinitionSchema, def)
  return resolveRule(d.rule, d.dataType, catalogue)
}
