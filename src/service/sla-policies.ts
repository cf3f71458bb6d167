import { sql } from 'kysely';
import { z } from 'zod';
import { TIERS } from '../analytics/measures/index.ts';
import { isUniqueViolation } from '../commerce/database-errors.ts';
import type { Database, Tier } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type BusinessCalendar, calendarProblems, type Weekday } from './calendar.ts';
import { INTERACTION_KINDS, TICKET_PRIORITIES } from './interactions.ts';
import {
  choosePolicy,
  computeSlaState,
  NO_SLA,
  type SlaPolicy,
  type SlaState,
  type SlaTicket,
} from './sla.ts';

/**
 * Storage of business calendars and SLA policies: validated create / update / list, and the state of a
 * ticket's SLA clocks read through them (slaStateOf). Rules of the clocks are in sla.ts, of the hours in
 * calendar.ts.
 */

export type StoredCalendar = BusinessCalendar & { id: number; name: string };

const name = z.string().trim().min(1).max(100);
const interval = z.tuple([z.string().max(5), z.string().max(5)]).describe("['HH:MM', 'HH:MM'] local time");
const hours = z
  // Weekday keys are checked with the times (calendarProblems), which names the field.
  .record(z.string(), z.array(interval).max(12))
  .describe(
    "weekday '0' (Sunday)–'6' → intervals such as [['09:00','18:00']]; an end before the start runs overnight",
  );
const holidays = z
  .array(z.string().max(10))
  .max(1000)
  .describe("'YYYY-MM-DD' local dates without business hours");

export const CalendarInput = z.strictObject({
  name,
  timezone: z.string().max(64).describe("IANA time zone, e.g. 'Asia/Tokyo'"),
  hours,
  holidays: holidays.optional(),
});
export type CalendarInput = z.output<typeof CalendarInput>;
export const CalendarPatch = z.strictObject({
  name: name.optional(),
  timezone: z.string().max(64).optional(),
  hours: hours.optional(),
  holidays: holidays.optional(),
});
export type CalendarPatch = z.output<typeof CalendarPatch>;

const minutes = z.number().int().min(1).max(1_000_000).nullable();
/** The fields a policy shares between create and update, all optional. */
const policyFields = {
  kinds: z.array(z.enum(INTERACTION_KINDS)).min(1).nullable().optional().describe('null: any kind'),
  priorities: z.array(z.enum(TICKET_PRIORITIES)).min(1).nullable().optional().describe('null: any priority'),
  tiers: z
    .array(z.enum(TIERS as [Tier, ...Tier[]]))
    .min(1)
    .nullable()
    .optional()
    .describe('null: any tier (or none)'),
  storeIds: z
    .array(z.number().int().positive())
    .min(1)
    .nullable()
    .optional()
    .describe('null: any store (or none)'),
  precedence: z
    .number()
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .optional()
    .describe('smaller first; default 100'),
  firstResponseMinutes: minutes.optional().describe('business minutes; null: no target'),
  nextResponseMinutes: minutes.optional().describe('business minutes; null: no target'),
  resolutionMinutes: minutes.optional().describe('business minutes; null: no target'),
  nearBreachShare: z
    .number()
    .min(0)
    .lt(1)
    .optional()
    .describe('near breach when at most this share of the target is left; default 0.2'),
  nearBreachMinutes: z
    .number()
    .int()
    .min(0)
    .nullable()
    .optional()
    .describe('or when at most this many minutes are left'),
  active: z.boolean().optional(),
};
export const PolicyInput = z.strictObject({ name, calendarId: z.number().int().positive(), ...policyFields });
export type PolicyInput = z.output<typeof PolicyInput>;
export const PolicyPatch = z.strictObject({
  name: name.optional(),
  calendarId: z.number().int().positive().optional(),
  ...policyFields,
});
export type PolicyPatch = z.output<typeof PolicyPatch>;

// ---------------------------------------------------------------------------------------------------------
// Calendars

function checkCalendar(calendar: BusinessCalendar): void {
  const [problem] = calendarProblems(calendar);
  if (problem) {
    throw new KizunaError('invalid_calendar', `${problem.path}: ${problem.message}`, { field: problem.path });
  }
}

function nameTaken(kind: string, value: string): KizunaError {
  return new KizunaError('name_taken', `name: a ${kind} named '${value}' exists already`, {
    field: 'name',
    status: 409,
  });
}

const calendarColumns = [
  'id',
  'name',
  'timezone',
  'hours',
  sql<string[]>`holidays::text[]`.as('holidays'),
] as const;

function calendarOf(row: {
  id: number;
  name: string;
  timezone: string;
  hours: Record<string, unknown>;
  holidays: string[];
}): StoredCalendar {
  return {
    id: row.id,
    name: row.name,
    timezone: row.timezone,
    hours: row.hours as Partial<Record<Weekday, Array<[string, string]>>>,
    holidays: [...row.holidays].sort(),
  };
}

export async function listCalendars(database: Database): Promise<StoredCalendar[]> {
  const rows = await database.db
    .selectFrom('business_calendars')
    .select(calendarColumns)
    .orderBy('id')
    .execute();
  return rows.map(calendarOf);
}

export async function getCalendar(database: Database, id: number): Promise<StoredCalendar> {
  const row = await database.db
    .selectFrom('business_calendars')
    .select(calendarColumns)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row)
    throw new KizunaError('calendar_not_found', `No business calendar with id ${id}`, { status: 404 });
  return calendarOf(row);
}

/** Holidays sorted and without repeats, so that a listing reads in date order. */
function holidaySet(dates: readonly string[]): string[] {
  return [...new Set(dates)].sort();
}

export async function createCalendar(database: Database, input: CalendarInput): Promise<StoredCalendar> {
  const calendar = {
    timezone: input.timezone,
    hours: input.hours,
    holidays: holidaySet(input.holidays ?? []),
  };
  checkCalendar(calendar);
  try {
    const row = await database.db
      .insertInto('business_calendars')
      .values({
        name: input.name,
        timezone: calendar.timezone,
        hours: JSON.stringify(calendar.hours),
        holidays: sql<string[]>`${calendar.holidays}::date[]` as unknown as string[],
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return getCalendar(database, row.id);
  } catch (error) {
    if (isUniqueViolation(error, 'business_calendars_name_key')) throw nameTaken('calendar', input.name);
    throw error;
  }
}

export async function updateCalendar(
  database: Database,
  id: number,
  patch: CalendarPatch,
): Promise<StoredCalendar> {
  const current = await getCalendar(database, id);
  const calendar = {
    timezone: patch.timezone ?? current.timezone,
    hours: (patch.hours ?? current.hours) as BusinessCalendar['hours'],
    holidays: holidaySet(patch.holidays ?? current.holidays),
  };
  checkCalendar(calendar);
  try {
    await database.db
      .updateTable('business_calendars')
      .set({
        name: patch.name ?? current.name,
        timezone: calendar.timezone,
        hours: JSON.stringify(calendar.hours),
        holidays: sql<string[]>`${calendar.holidays}::date[]` as unknown as string[],
        updated_at: sql<Date>`now()` as unknown as Date,
      })
      .where('id', '=', id)
      .execute();
  } catch (error) {
    if (patch.name && isUniqueViolation(error, 'business_calendars_name_key'))
      throw nameTaken('calendar', patch.name);
    throw error;
  }
  return getCalendar(database, id);
}

// ---------------------------------------------------------------------------------------------------------
// Policies

type PolicyRow = {
  id: number;
  name: string;
  calendar_id: number;
  kinds: string[] | null;
  priorities: string[] | null;
  tiers: string[] | null;
  store_ids: Array<number | string> | null;
  precedence: number;
  first_response_minutes: number | null;
  next_response_minutes: number | null;
  resolution_minutes: number | null;
  near_breach_share: string;
  near_breach_minutes: number | null;
  active: boolean;
};

function policyOf(row: PolicyRow): SlaPolicy {
  return {
    id: row.id,
    name: row.name,
    calendarId: row.calendar_id,
    kinds: row.kinds as SlaPolicy['kinds'],
    priorities: row.priorities as SlaPolicy['priorities'],
    tiers: row.tiers,
    // bigint[] arrives as strings on node-postgres (only int8 itself is read as a number).
    storeIds: row.store_ids === null ? null : row.store_ids.map(Number),
    precedence: row.precedence,
    firstResponseMinutes: row.first_response_minutes,
    nextResponseMinutes: row.next_response_minutes,
    resolutionMinutes: row.resolution_minutes,
    nearBreachShare: Number(row.near_breach_share),
    nearBreachMinutes: row.near_breach_minutes,
    active: row.active,
  };
}

/** Every policy in the order they are tried (precedence, then the more specific, then id). */
export async function listPolicies(database: Database): Promise<SlaPolicy[]> {
  const rows = await database.db.selectFrom('sla_policies').selectAll().execute();
  const policies = rows.map((row) => policyOf(row as PolicyRow));
  const conditionCount = (p: SlaPolicy) =>
    [p.kinds, p.priorities, p.tiers, p.storeIds].filter((c) => c !== null).length;
  return policies.sort(
    (a, b) => a.precedence - b.precedence || conditionCount(b) - conditionCount(a) || a.id - b.id,
  );
}

export async function getPolicy(database: Database, id: number): Promise<SlaPolicy> {
  const row = await database.db
    .selectFrom('sla_policies')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new KizunaError('policy_not_found', `No SLA policy with id ${id}`, { status: 404 });
  return policyOf(row as PolicyRow);
}

async function checkReferences(database: Database, fields: PolicyPatch): Promise<void> {
  if (fields.calendarId !== undefined) {
    const calendar = await database.db
      .selectFrom('business_calendars')
      .select('id')
      .where('id', '=', fields.calendarId)
      .executeTakeFirst();
    if (!calendar) {
      throw new KizunaError(
        'invalid_request',
        `calendarId: no business calendar with id ${fields.calendarId}`,
        {
          field: 'calendarId',
        },
      );
    }
  }
  if (fields.storeIds) {
    const found = await database.db
      .selectFrom('stores')
      .select('id')
      .where('id', 'in', fields.storeIds)
      .execute();
    const known = new Set(found.map((row) => row.id));
    const missing = fields.storeIds.find((id) => !known.has(id));
    if (missing !== undefined) {
      throw new KizunaError('invalid_request', `storeIds: no store with id ${missing}`, {
        field: 'storeIds',
      });
    }
  }
}

/** Column values of the fields given (undefined fields are left out). */
function policyColumns(fields: PolicyPatch) {
  const columns = {
    name: fields.name,
    calendar_id: fields.calendarId,
    kinds: fields.kinds,
    priorities: fields.priorities,
    tiers: fields.tiers,
    store_ids: fields.storeIds,
    precedence: fields.precedence,
    first_response_minutes: fields.firstResponseMinutes,
    next_response_minutes: fields.nextResponseMinutes,
    resolution_minutes: fields.resolutionMinutes,
    near_breach_share: fields.nearBreachShare,
    near_breach_minutes: fields.nearBreachMinutes,
    active: fields.active,
  };
  return Object.fromEntries(Object.entries(columns).filter(([, value]) => value !== undefined));
}

export async function createPolicy(database: Database, input: PolicyInput): Promise<SlaPolicy> {
  await checkReferences(database, input);
  try {
    const row = await database.db
      .insertInto('sla_policies')
      .values(policyColumns(input) as { name: string; calendar_id: number })
      .returning('id')
      .executeTakeFirstOrThrow();
    return getPolicy(database, row.id);
  } catch (error) {
    if (isUniqueViolation(error, 'sla_policies_name_key')) throw nameTaken('policy', input.name);
    throw error;
  }
}

export async function updatePolicy(database: Database, id: number, patch: PolicyPatch): Promise<SlaPolicy> {
  await getPolicy(database, id);
  await checkReferences(database, patch);
  const columns = policyColumns(patch);
  try {
    await database.db
      .updateTable('sla_policies')
      .set({ ...columns, updated_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', id)
      .execute();
  } catch (error) {
    if (patch.name && isUniqueViolation(error, 'sla_policies_name_key'))
      throw nameTaken('policy', patch.name);
    throw error;
  }
  return getPolicy(database, id);
}

// ---------------------------------------------------------------------------------------------------------
// The SLA state of tickets

/** Policies and calendars loaded once, for the state of many tickets. */
export type SlaSetup = { policies: SlaPolicy[]; calendars: Map<number, BusinessCalendar> };

export async function loadSlaSetup(database: Database): Promise<SlaSetup> {
  const [policies, calendars] = await Promise.all([listPolicies(database), listCalendars(database)]);
  return { policies, calendars: new Map(calendars.map((calendar) => [calendar.id, calendar])) };
}

/** The state with setup already loaded (pure): the chosen policy's clocks, or NO_SLA when none matches. */
export function slaStateWith(setup: SlaSetup, ticket: SlaTicket, now: Date): SlaState {
  const policy = choosePolicy(setup.policies, ticket);
  if (!policy) return NO_SLA;
  const calendar = setup.calendars.get(policy.calendarId);
  if (!calendar) return NO_SLA;
  return computeSlaState(policy, calendar, ticket, now);
}

/**
 * The SLA state of one ticket at `now`. Pass `setup` (from loadSlaSetup) when computing many tickets, so the
 * policies and calendars are read once per batch.
 */
export async function slaStateOf(
  database: Database,
  ticket: SlaTicket,
  now: Date,
  setup?: SlaSetup,
): Promise<SlaState> {
  return slaStateWith(setup ?? (await loadSlaSetup(database)), ticket, now);
}
