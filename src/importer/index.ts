export {
  type ImportError,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
  importRecords,
} from './import.ts';
export type { KindName } from './kind.ts';
export { IMPORT_KINDS, KIND_NAMES } from './kinds/index.ts';
export { iterableSource, openFileSource, type RecordSource, type SourceRecord } from './read-records.ts';
