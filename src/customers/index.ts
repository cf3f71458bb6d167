export * from './customer-360.ts';
export * from './preferences.ts';
export * from './privacy.ts';
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
