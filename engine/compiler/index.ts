/** Rule → SQL compiler (SPEC §5) and rule validation against the data catalogue. */
export { compileRule, type CompileContext, type CompiledRule } from './compile-rule.ts'
export { validateDefinition, validateDefinition as validateLabelDefinition } from './validate-definition.ts'
export { intervalNames } from './resolve-rule.ts'
export { isIsoDate } from './literals.ts'
export { limits } from './limits.ts'
export type { RuleNode } from './ir.ts'
