/**
 * SLA clocks of one ticket (Zammad-style), counted in business minutes of the policy's calendar.
 *
 * - First response: from opening to the first public reply.
 * - Next response: a cycle starts at the first customer message after a public reply and ends at the next
 *   public reply. The state shows the running cycle, else the last finished one.
 * - Resolution: from opening until the ticket is resolved or closed. Reopening resumes it where it stopped.
 * - Only public replies count as responses; internal notes never do.
 * - While the ticket is 'waiting' (for the customer), 'resolved' or 'closed', every clock is paused.
 * - A clock is breached when its business minutes reach the target before it stops; near breach when the
 *   minutes left are at most the policy's share of the target (default 20 %) or its near-breach minutes.
 * - Events after `now` are ignored: the state is the state at `now`.
 */
import type { InteractionKind, TicketPriority } from '../db/index.ts';
import { addBusinessMinutes, type BusinessCalendar, businessMinutesBetween } from './calendar.ts';

export type SlaTicketStatus = 'new' | 'open' | 'waiting' | 'resolved' | 'closed';

/** The facts of a ticket, events in time order. */
export type SlaTicket = {
  kind: InteractionKind;
  priority: TicketPriority;
  /** customer_measures.tier of the customer. */
  tier: string | null;
  storeId: number | null;
  openedAt: Date;
  events: Array<{
    at: Date;
    type: 'customer_message' | 'public_reply' | 'internal_note' | 'status';
    status?: SlaTicketStatus;
  }>;
};

export type SlaClockName = 'firstResponse' | 'nextResponse' | 'resolution';

export type SlaClock = {
  targetMinutes: number;
  /** When the target is (or was) reached; null while paused before it. */
  dueAt: Date | null;
  /** Business minutes counted so far, pauses left out (2 decimals). */
  elapsedMinutes: number;
  /** targetMinutes − elapsedMinutes; negative when late. */
  remainingMinutes: number;
  state: 'running' | 'paused' | 'met' | 'breached' | 'near_breach';
  /** When the clock stopped (the reply or the resolution), late or not; null while it runs. */
  metAt: Date | null;
  /** When this clock (this cycle, for next response) started. */
  startedAt: Date;
};

export type SlaPolicy = {
  id: number;
  name: string;
  calendarId: number;
  /** Match conditions; null matches any. */
  kinds: InteractionKind[] | null;
  priorities: TicketPriority[] | null;
  tiers: string[] | null;
  storeIds: number[] | null;
  /** Smaller first; the first matching active policy applies. */
  precedence: number;
  firstResponseMinutes: number | null;
  nextResponseMinutes: number | null;
  resolutionMinutes: number | null;
  nearBreachShare: number;
  nearBreachMinutes: number | null;
  active: boolean;
};

export type SlaState = {
  policy: { id: number; name: string } | null;
  firstResponse: SlaClock | null;
  nextResponse: SlaClock | null;
  resolution: SlaClock | null;
  worst: 'ok' | 'near_breach' | 'breached' | 'none';
};

export const NO_SLA: SlaState = {
  policy: null,
  firstResponse: null,
  nextResponse: null,
  resolution: null,
  worst: 'none',
};

const PAUSING: ReadonlySet<SlaTicketStatus> = new Set(['waiting', 'resolved', 'closed']);
const FINISHED: ReadonlySet<SlaTicketStatus> = new Set(['resolved', 'closed']);

function conditionCount(policy: SlaPolicy): number {
  return [policy.kinds, policy.priorities, policy.tiers, policy.storeIds].filter((c) => c !== null).length;
}

export function policyMatches(policy: SlaPolicy, ticket: SlaTicket): boolean {
  return (
    policy.active &&
    (policy.kinds === null || policy.kinds.includes(ticket.kind)) &&
    (policy.priorities === null || policy.priorities.includes(ticket.priority)) &&
    (policy.tiers === null || (ticket.tier !== null && policy.tiers.includes(ticket.tier))) &&
    (policy.storeIds === null || (ticket.storeId !== null && policy.storeIds.includes(ticket.storeId)))
  );
}

/**
 * The policy of a ticket: among the active policies whose conditions all match, the smallest precedence;
 * on a tie the one with more conditions (the more specific), then the smallest id.
 */
export function choosePolicy(policies: readonly SlaPolicy[], ticket: SlaTicket): SlaPolicy | null {
  const matching = policies.filter((policy) => policyMatches(policy, ticket));
  matching.sort(
    (a, b) => a.precedence - b.precedence || conditionCount(b) - conditionCount(a) || a.id - b.id,
  );
  return matching[0] ?? null;
}

type Pause = { start: number; end: number | null };

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The pure state of a ticket under one policy and its calendar at `now`. */
export function computeSlaState(
  policy: SlaPolicy,
  calendar: BusinessCalendar,
  ticket: SlaTicket,
  now: Date,
): SlaState {
  const nowMs = now.getTime();
  const openedMs = ticket.openedAt.getTime();
  // Stable order by time; an event recorded before the opening counts at the opening.
  const events = ticket.events
    .map((event, index) => ({ ...event, ms: Math.max(event.at.getTime(), openedMs), index }))
    .filter((event) => event.ms <= nowMs)
    .sort((a, b) => a.ms - b.ms || a.index - b.index);

  // Pauses: every stretch spent waiting, resolved or closed.
  const pauses: Pause[] = [];
  let status: SlaTicketStatus = 'open';
  let finishedAt: number | null = null;
  for (const event of events) {
    if (event.type !== 'status' || !event.status) continue;
    const wasPaused = PAUSING.has(status);
    const isPaused = PAUSING.has(event.status);
    if (!wasPaused && isPaused) pauses.push({ start: event.ms, end: null });
    if (wasPaused && !isPaused) {
      const open = pauses[pauses.length - 1];
      if (open) open.end = event.ms;
    }
    if (!FINISHED.has(status) && FINISHED.has(event.status)) finishedAt = event.ms;
    if (!FINISHED.has(event.status)) finishedAt = null;
    status = event.status;
  }
  const pausedNow = PAUSING.has(status);

  /** Business minutes in [from, to) outside pauses. */
  const activeMinutes = (from: number, to: number): number => {
    let minutes = businessMinutesBetween(calendar, new Date(from), new Date(to));
    for (const pause of pauses) {
      const start = Math.max(from, pause.start);
      const end = Math.min(to, pause.end ?? nowMs);
      if (end > start) minutes -= businessMinutesBetween(calendar, new Date(start), new Date(end));
    }
    return minutes;
  };

  /**
   * When `target` active minutes after `from` are reached, with the pauses known by then: those that start
   * before a stopped clock's `stop`, or — for a running clock — up to and including now (a ticket put on
   * 'waiting' this very minute is paused, with no due time).
   */
  const dueOf = (from: number, target: number, stop: number | null): Date | null => {
    let cursor = from;
    let remaining = target;
    for (const pause of pauses) {
      if (stop !== null ? pause.start >= stop : pause.start > nowMs) break;
      if ((pause.end ?? Number.POSITIVE_INFINITY) <= cursor) continue;
      if (pause.start > cursor) {
        const available = businessMinutesBetween(calendar, new Date(cursor), new Date(pause.start));
        if (available >= remaining) return addBusinessMinutes(calendar, new Date(cursor), remaining);
        remaining -= available;
      }
      if (pause.end === null) return null;
      cursor = Math.max(cursor, pause.end);
    }
    return addBusinessMinutes(calendar, new Date(cursor), remaining);
  };

  const clock = (target: number | null, start: number, stop: number | null): SlaClock | null => {
    if (target === null) return null;
    const end = stop ?? nowMs;
    const elapsed = activeMinutes(start, end);
    const remaining = target - elapsed;
    let state: SlaClock['state'];
    if (stop !== null) state = elapsed <= target ? 'met' : 'breached';
    else if (remaining <= 0) state = 'breached';
    else if (pausedNow) state = 'paused';
    else if (
      remaining <= policy.nearBreachShare * target ||
      (policy.nearBreachMinutes !== null && remaining <= policy.nearBreachMinutes)
    ) {
      state = 'near_breach';
    } else state = 'running';
    return {
      targetMinutes: target,
      dueAt: dueOf(start, target, stop),
      elapsedMinutes: round2(elapsed),
      remainingMinutes: round2(remaining),
      state,
      metAt: stop === null ? null : new Date(stop),
      startedAt: new Date(start),
    };
  };

  const firstReply = events.find((event) => event.type === 'public_reply');
  const firstResponse = clock(policy.firstResponseMinutes, openedMs, firstReply?.ms ?? null);

  // Next-response cycles: the first customer message after a public reply starts one, the next reply ends it.
  let replied = false;
  let cycleStart: number | null = null;
  let lastCycle: { start: number; stop: number | null } | null = null;
  for (const event of events) {
    if (event.type === 'public_reply') {
      if (cycleStart !== null) lastCycle = { start: cycleStart, stop: event.ms };
      cycleStart = null;
      replied = true;
    } else if (event.type === 'customer_message' && replied && cycleStart === null) {
      cycleStart = event.ms;
    }
  }
  if (cycleStart !== null) lastCycle = { start: cycleStart, stop: null };
  const nextResponse = lastCycle ? clock(policy.nextResponseMinutes, lastCycle.start, lastCycle.stop) : null;

  const resolution = clock(policy.resolutionMinutes, openedMs, finishedAt);

  const clocks = [firstResponse, nextResponse, resolution].filter((c): c is SlaClock => c !== null);
  const worst: SlaState['worst'] =
    clocks.length === 0
      ? 'none'
      : clocks.some((c) => c.state === 'breached')
        ? 'breached'
        : clocks.some((c) => c.state === 'near_breach')
          ? 'near_breach'
          : 'ok';
  return { policy: { id: policy.id, name: policy.name }, firstResponse, nextResponse, resolution, worst };
}
