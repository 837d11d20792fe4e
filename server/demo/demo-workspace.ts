import type { FastifyInstance } from 'fastify'
import { demoUserId } from '../../engine/demo/index.ts'
import type { LabelInput } from '../../shared/schemas/label.ts'
import '../types.ts'

const ACTOR = 'demo'

/** One label of each of the six creation methods, over the demo shop's data (engine/demo). */
export function demoLabels(groups: {
  retention: string
  acquisition: string
  value: string
  engagement: string
}): LabelInput[] {
  return [
    {
      name: 'customer_stage',
      displayName: 'Customer stage',
      groupId: groups.retention,
      dataType: 'string',
      labelType: 'dynamic',
      schedule: { kind: 'daily', at: '02:00' },
      description: 'Where each customer is in the purchase lifecycle, from the last 30 days of behaviour.',
      rule: {
        method: 'custom',
        values: [
          { value: 'active buyer', when: { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 1 } },
          {
            value: 'lapsed buyer',
            when: {
              all: [
                { event: 'purchase', op: 'gte', value: 1 },
                { event: 'purchase', window: { lastDays: 30 }, op: 'eq', value: 0 },
              ],
            },
          },
          { value: 'browser', when: { event: 'view_product', window: { lastDays: 30 }, op: 'gte', value: 1 } },
        ],
        otherwise: 'dormant',
      },
    },
    {
      name: 'spend_90d',
      displayName: 'Spend, last 90 days',
      groupId: groups.value,
      dataType: 'number',
      labelType: 'dynamic',
      schedule: { kind: 'daily', at: '02:30' },
      description: 'Sum of purchase amounts over the last 90 days.',
      rule: {
        method: 'metric',
        event: 'purchase',
        window: { lastDays: 90 },
        measure: { agg: 'sum', property: 'amount' },
      },
    },
    {
      name: 'spend_band',
      displayName: 'Spend band',
      groupId: groups.value,
      dataType: 'string',
      labelType: 'dynamic',
      schedule: { kind: 'weekly', weekday: 1, at: '03:00' },
      description: 'Customers banded by their 90-day spend.',
      rule: {
        method: 'distribution',
        event: 'purchase',
        window: { lastDays: 90 },
        measure: { agg: 'sum', property: 'amount' },
        boundaries: [1, 100, 500, 1500],
        names: ['no spend', 'low', 'medium', 'high', 'top'],
      },
    },
    {
      name: 'last_purchase_at',
      displayName: 'Last purchase',
      groupId: groups.engagement,
      dataType: 'date',
      labelType: 'dynamic',
      schedule: { kind: 'daily', at: '02:00' },
      description: 'When the customer last bought anything.',
      rule: { method: 'first_last', which: 'last', event: 'purchase', property: '$time' },
    },
    {
      name: 'favourite_category',
      displayName: 'Favourite category',
      groupId: groups.engagement,
      dataType: 'string',
      labelType: 'dynamic',
      schedule: { kind: 'monthly', day: 1, at: '04:00' },
      description: 'The product category the customer viewed most in the last 90 days.',
      rule: { method: 'preference', event: 'view_product', window: { lastDays: 90 }, property: 'category' },
    },
    {
      name: 'vip_list',
      displayName: 'VIP list (imported)',
      groupId: groups.acquisition,
      dataType: 'boolean',
      labelType: 'static',
      schedule: { kind: 'once' },
      description: 'Customers flagged by the sales team, uploaded as a CSV file.',
      rule: { method: 'import' },
    },
  ]
}

/** The CSV the demo imports into its import label: every 40th customer is a VIP. */
export function demoImportCsv(users: number): string {
  let csv = 'user_id,value\n'
  for (let i = 0; i < users; i += 40) csv += `${demoUserId(i)},true\n`
  return csv
}

/** True when nothing has been stored yet: no customer data and no label. */
export async function isEmptyWorkspace(app: FastifyInstance): Promise<boolean> {
  const schema = await app.engine.schema()
  return schema.userAttributes.length === 0 && schema.events.length === 0 && app.workspace.listLabels().length === 0
}

/**
 * Loads the demo workspace: seeded customers and events, example groups, one label of each
 * method (each calculated by its creation run), and a CSV import for the import label.
 */
export async function loadDemoWorkspace(
  app: FastifyInstance,
  opts: { users: number; seed?: number },
): Promise<{ users: number; events: number; labels: number }> {
  const data = await app.engine.loadDemo({ users: opts.users, seed: opts.seed ?? 42 })
  const ws = app.workspace
  const lifecycle = ws.createGroup({ name: 'Lifecycle' }, ACTOR)
  const acquisition = ws.createGroup({ name: 'Acquisition', parentId: lifecycle.id }, ACTOR)
  const retention = ws.createGroup({ name: 'Retention', parentId: lifecycle.id }, ACTOR)
  const value = ws.createGroup({ name: 'Value' }, ACTOR)
  const engagement = ws.createGroup({ name: 'Engagement' }, ACTOR)
  let labels = 0
  for (const input of demoLabels({
    retention: retention.id,
    acquisition: acquisition.id,
    value: value.id,
    engagement: engagement.id,
  })) {
    try {
      await app.engine.validateDefinition({ dataType: input.dataType, rule: input.rule })
      const label = ws.createLabel(input, ACTOR)
      labels++
      if (input.rule.method === 'import') {
        await ws.flushed()
        const report = await app.engine.importValues({
          labelId: label.id,
          dataType: label.dataType,
          csv: demoImportCsv(data.users),
          mode: 'replace',
          tz: app.tz,
          definition: { dataType: label.dataType, rule: label.rule },
        })
        const run = await app.engine.getRun(report.runId)
        if (run) app.calc.announce(run)
      }
    } catch (e) {
      app.log.warn({ err: e, label: input.name }, 'demo label skipped')
    }
  }
  await ws.flushed()
  return { ...data, labels }
}
