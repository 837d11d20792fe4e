/**
 * The explanation of one customer's value: its schema and types live in shared/schemas/explain.ts
 * (one source for the route's response schema, the engine and the web app).
 */
export type {
  ExplainCondition,
  ExplainEvents,
  ExplainReason,
  ExplainScalar,
  ExplainTopValues,
  ExplainValue,
  Explanation,
} from '../../shared/schemas/explain.ts'
