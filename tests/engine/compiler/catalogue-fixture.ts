import type { Catalogue, ColumnRef, ValueType } from '../../../engine/storage/catalogue.ts'

const cols = (entries: Array<[string, ValueType, string]>) =>
  new Map<string, ColumnRef>(entries.map(([name, type, column]) => [name, { name, type, column }]))

/** A hand-built catalogue so SQL text tests don't depend on ingestion's numbering. */
export const catalogue: Catalogue = {
  users: cols([
    ['city', 'string', 'c1'],
    ['age', 'number', 'c2'],
    ['vip', 'boolean', 'c3'],
    ['signup', 'date', 'c4'],
  ]),
  events: new Map([
    [
      'purchase',
      {
        name: 'purchase',
        table: 'ev1',
        properties: cols([
          ['amount', 'number', 'c5'],
          ['product', 'string', 'c6'],
          ['paid', 'boolean', 'c7'],
          ['delivered', 'date', 'c8'],
        ]),
      },
    ],
    ['view', { name: 'view', table: 'ev2', properties: cols([['page', 'string', 'c9']]) }],
  ]),
}
