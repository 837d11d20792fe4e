export { ingestEventRecords, ingestUserRecords } from './records.ts'
export { IngestSession } from './session.ts'
export type { EventRecord, IngestFormat, IngestKind, IngestOptions, IngestResult, UserRecord } from './types.ts'
