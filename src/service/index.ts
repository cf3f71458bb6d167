export {
  addBusinessMinutes,
  type BusinessCalendar,
  businessMinutesBetween,
  calendarProblems,
  isBusinessTime,
  type Weekday,
} from './calendar.ts';
export {
  createInteraction,
  INTERACTION_CHANNELS,
  INTERACTION_KINDS,
  INTERACTION_STATUSES,
  type Interaction,
  type InteractionFilter,
  InteractionInput,
  InteractionPatch,
  type InteractionView,
  listCustomerInteractions,
  updateInteraction,
} from './interactions.ts';
export { type RedactableInteraction, type Redacted, redactForRole, redactInteractions } from './redaction.ts';
export {
  choosePolicy,
  computeSlaState,
  NO_SLA,
  policyMatches,
  type SlaClock,
  type SlaClockName,
  type SlaPolicy,
  type SlaState,
  type SlaTicket,
  type SlaTicketStatus,
} from './sla.ts';
