export * from './customer-360.ts';
export {
  actorSource,
  ConsentChange,
  CustomerPatch,
  type CustomerRecord,
  createCustomer,
  getCustomer,
  NewCustomer,
  recordConsent,
  updateCustomer,
} from './customer-records.ts';
export {
  customerIdWithoutRedirect,
  DEFAULT_DUPLICATE_LIMIT,
  type DuplicateCandidate,
  findDuplicateCandidates,
  MAX_DUPLICATE_LIMIT,
  type MergePlan,
  mergeCustomers,
  previewMerge,
} from './merge.ts';
export * from './preferences.ts';
export * from './privacy.ts';
export {
  type CustomerSearch,
  type CustomerSearchPage,
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
  searchCustomers,
} from './search.ts';
export {
  type CurrentConsent,
  compareEvents,
  customerTimeline,
  DEFAULT_TIMELINE_LIMIT,
  findCustomer,
  type InteractionEvent,
  type OrderEvent,
  type OrderLine,
  type PreferenceEvent,
  type ReturnEvent,
  type StaffRef,
  type StoreRef,
  TIMELINE_KINDS,
  type Timeline,
  type TimelineCustomer,
  type TimelineEvent,
  type TimelineKind,
  type TimelineOptions,
  type TouchEvent,
} from './timeline.ts';
export { formatTimeline } from './timeline-table.ts';
