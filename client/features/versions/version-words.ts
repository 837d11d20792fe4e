import type { VersionSummary } from '../../../engine/api.ts'

const kindWords: Record<VersionSummary['kind'], string> = {
  baseline: 'as it was when the history began',
  created: 'created',
  updated: 'edited',
  restored: 'restored',
  deleted: 'deleted',
}

const viaWords: Record<string, string> = {
  rest: 'through the API',
  remote: 'in the browser',
  server: 'by the server',
  repair: 'by a repair',
}

/** "edited by eve in the browser", "restored version 2 by ada through the API". */
export function versionHeadline(v: Pick<VersionSummary, 'kind' | 'actor' | 'via' | 'restoredFrom'>): string {
  const what = v.kind === 'restored' && v.restoredFrom ? `restored version ${v.restoredFrom}` : kindWords[v.kind]
  const who = v.kind === 'baseline' ? '' : ` by ${v.actor}`
  const via = viaWords[v.via]
  return `${what}${who}${via ? ` ${via}` : ''}`
}
