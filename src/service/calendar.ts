/**
 * Business-hours arithmetic: how many minutes of a calendar's opening hours lie between two instants, and
 * which instant is N business minutes after another. SLA clocks (sla.ts) count in these minutes.
 *
 * Rules (docs/service-desk.md, "SLA and business hours"):
 * - Hours are local wall-clock times in the calendar's IANA time zone, per weekday (0 = Sunday), several
 *   intervals a day allowed. '24:00' may end an interval (end of the day).
 * - An interval whose end is before its start runs overnight: ['22:00', '06:00'] on Friday is Friday 22:00
 *   to Saturday 06:00. It belongs to the day it starts: a holiday on Friday removes it, a holiday on
 *   Saturday does not cut it short.
 * - A holiday ('YYYY-MM-DD', local date) has no business hours.
 * - Business minutes are real elapsed minutes inside the intervals. On a daylight-saving day an interval
 *   across the change is an hour shorter or longer than its wall-clock length.
 * - A wall-clock time that does not exist (the hour skipped in spring) means the instant just after the
 *   gap; a time that occurs twice (the hour repeated in autumn) means the first of the two — the
 *   "compatible" rule of Temporal and of RFC 5545.
 * - Overlapping intervals count once.
 */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export type BusinessCalendar = {
  /** IANA time zone, e.g. 'Asia/Tokyo'. */
  timezone: string;
  /** Weekday (0 = Sunday) → local intervals such as ['09:00', '18:00']; a missing day is closed. */
  hours: Partial<Record<Weekday, Array<[string, string]>>>;
  /** 'YYYY-MM-DD' local dates with no business hours. */
  holidays: string[];
};

import { instantOfWallClock, isTimeZone, wallClockMs } from '../time-zone.ts';

export { isTimeZone };

const MINUTE = 60_000;
const DAY_MINUTES = 1440;
/** A calendar with no business hours in this many days in a row has none at all (it would loop forever). */
const EMPTY_DAYS_LIMIT = 3_700;
/** Dates whose intervals one prepared calendar remembers (about 27 years). */
const DATE_CACHE_LIMIT = 10_000;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Minutes after local midnight of 'HH:MM' ('24:00' → 1440), or null when it is not such a time. */
export function parseTimeOfDay(text: string): number | null {
  if (!TIME.test(text)) return null;
  return Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
}

/** True when `text` is a real calendar date written 'YYYY-MM-DD'. */
export function isIsoDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Why a calendar is unusable (field path → reason), or an empty list. The zod schema in sla.ts uses it. */
export function calendarProblems(calendar: BusinessCalendar): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (!isTimeZone(calendar.timezone)) {
    problems.push({ path: 'timezone', message: `unknown IANA time zone '${calendar.timezone}'` });
  }
  for (const [weekday, intervals] of Object.entries(calendar.hours)) {
    if (!/^[0-6]$/.test(weekday)) {
      problems.push({ path: `hours.${weekday}`, message: 'weekday must be 0 (Sunday) to 6 (Saturday)' });
      continue;
    }
    (intervals ?? []).forEach(([start, end], index) => {
      const from = parseTimeOfDay(start);
      const to = parseTimeOfDay(end);
      if (from === null || from === DAY_MINUTES) {
        problems.push({
          path: `hours.${weekday}[${index}][0]`,
          message: `'${start}' is not a time 00:00–23:59`,
        });
      }
      if (to === null) {
        problems.push({
          path: `hours.${weekday}[${index}][1]`,
          message: `'${end}' is not a time 00:00–24:00`,
        });
      }
      if (from !== null && to !== null && from === to) {
        problems.push({
          path: `hours.${weekday}[${index}]`,
          message: 'start and end are equal; write 00:00–24:00 for the whole day',
        });
      }
    });
  }
  calendar.holidays.forEach((holiday, index) => {
    if (!isIsoDate(holiday))
      problems.push({ path: `holidays[${index}]`, message: `'${holiday}' is not a YYYY-MM-DD date` });
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Local calendar dates (the time-zone arithmetic itself is src/time-zone.ts).

/** A local calendar date; month 1–12. */
type CivilDate = { year: number; month: number; day: number };

function civilDateOf(timezone: string, ms: number): CivilDate {
  const wall = new Date(wallClockMs(timezone, Math.floor(ms / 1000) * 1000));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

function addDays(date: CivilDate, days: number): CivilDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

function isoOf(date: CivilDate): string {
  return `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
}

function compareDates(a: CivilDate, b: CivilDate): number {
  return Date.UTC(a.year, a.month - 1, a.day) - Date.UTC(b.year, b.month - 1, b.day);
}

// ---------------------------------------------------------------------------------------------------------
// The business intervals of a calendar, as instants, in time order.

type Interval = { start: number; end: number };

type PreparedCalendar = {
  timezone: string;
  /** Per weekday: [startMinute, endMinute] after local midnight; overnight ends are past 1440. */
  days: Array<Array<[number, number]>>;
  holidays: ReadonlySet<string>;
  open: boolean;
  /** The intervals of each local date already worked out (key: the date's midnight as if UTC). */
  dates: Map<number, Interval[]>;
};

function prepare(calendar: BusinessCalendar): PreparedCalendar {
  const problems = calendarProblems(calendar);
  if (problems.length > 0) {
    const [first] = problems;
    throw new RangeError(`business calendar ${first?.path}: ${first?.message}`);
  }
  const days: Array<Array<[number, number]>> = [];
  for (let weekday = 0; weekday < 7; weekday++) {
    const intervals = calendar.hours[weekday as Weekday] ?? [];
    days.push(
      intervals
        .map(([start, end]): [number, number] => {
          const from = parseTimeOfDay(start) as number;
          const to = parseTimeOfDay(end) as number;
          return [from, to <= from ? to + DAY_MINUTES : to];
        })
        .sort((a, b) => a[0] - b[0]),
    );
  }
  return {
    timezone: calendar.timezone,
    days,
    holidays: new Set(calendar.holidays),
    open: days.some((intervals) => intervals.length > 0),
    dates: new Map(),
  };
}

/** Longest merged run of business time handed out as one interval (back-to-back days open 24 hours). */
const MERGED_RUN_LIMIT = 7 * 24 * 60 * MINUTE;

/** The intervals that start on one local date (none on a holiday). */
function intervalsOfDate(calendar: PreparedCalendar, date: CivilDate): Interval[] {
  const midnight = Date.UTC(date.year, date.month - 1, date.day);
  const known = calendar.dates.get(midnight);
  if (known) return known;
  const weekday = new Date(midnight).getUTCDay();
  const intervals = calendar.holidays.has(isoOf(date))
    ? []
    : (calendar.days[weekday] ?? []).map(([from, to]) => ({
        start: instantOfWallClock(calendar.timezone, midnight + from * MINUTE),
        end: instantOfWallClock(calendar.timezone, midnight + to * MINUTE),
      }));
  if (calendar.dates.size >= DATE_CACHE_LIMIT) calendar.dates.clear();
  calendar.dates.set(midnight, intervals);
  return intervals;
}

/**
 * Merged business intervals that end after `fromMs`, in time order, starting with those of the local date
 * before `fromMs` (an overnight interval of that day may still be running). Stops after `lastDate` when
 * given; otherwise runs on (the caller stops), and throws when the calendar has no business hours at all.
 */
function* intervalsFrom(
  calendar: PreparedCalendar,
  fromMs: number,
  lastDate?: CivilDate,
): Generator<Interval> {
  if (!calendar.open && lastDate === undefined)
    throw new RangeError('business calendar has no business hours');
  let date = addDays(civilDateOf(calendar.timezone, fromMs), -1);
  let pending: Interval | null = null;
  // Business time before `floor` has been handed out already (a long merged run is handed out in pieces).
  let floor = Number.NEGATIVE_INFINITY;
  let emptyDays = 0;
  while (lastDate === undefined || compareDates(date, lastDate) <= 0) {
    const intervals = intervalsOfDate(calendar, date);
    emptyDays = intervals.length === 0 ? emptyDays + 1 : 0;
    if (lastDate === undefined && emptyDays > EMPTY_DAYS_LIMIT) {
      throw new RangeError(`business calendar has no business hours for ${EMPTY_DAYS_LIMIT} days`);
    }
    // Intervals of one date start before those of the next, so merging stays in order.
    for (const interval of intervals) {
      const start = Math.max(interval.start, floor);
      if (interval.end <= start) continue;
      if (pending && start <= pending.end) {
        pending.end = Math.max(pending.end, interval.end);
        // Hours open around the clock merge without end: hand the run out a week at a time.
        if (pending.end - pending.start >= MERGED_RUN_LIMIT) {
          if (pending.end > fromMs) yield pending;
          floor = pending.end;
          pending = null;
        }
        continue;
      }
      if (pending && pending.end > fromMs) yield pending;
      pending = { start, end: interval.end };
    }
    date = addDays(date, 1);
  }
  if (pending && pending.end > fromMs) yield pending;
}

const prepared = new WeakMap<BusinessCalendar, PreparedCalendar>();

function preparedOf(calendar: BusinessCalendar): PreparedCalendar {
  let ready = prepared.get(calendar);
  if (!ready) {
    ready = prepare(calendar);
    prepared.set(calendar, ready);
  }
  return ready;
}

/**
 * Business minutes between two instants (real minutes inside business hours, fractions included).
 * Negative when `to` is before `from`.
 */
export function businessMinutesBetween(calendar: BusinessCalendar, from: Date, to: Date): number {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  if (toMs < fromMs) return -businessMinutesBetween(calendar, to, from);
  if (toMs === fromMs) return 0;
  const ready = preparedOf(calendar);
  // An interval overlapping [from, to) starts before `to`, so on the local date of `to` or earlier.
  const lastDate = civilDateOf(ready.timezone, toMs);
  let total = 0;
  for (const interval of intervalsFrom(ready, fromMs, lastDate)) {
    if (interval.start >= toMs) break;
    total += Math.min(interval.end, toMs) - Math.max(interval.start, fromMs);
  }
  return total / MINUTE;
}

/**
 * The earliest instant at which `minutes` business minutes have passed since `from` (rounded to the
 * millisecond). Zero minutes is `from` itself; a target used up exactly at closing time is that closing time.
 */
export function addBusinessMinutes(calendar: BusinessCalendar, from: Date, minutes: number): Date {
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new RangeError(`business minutes must be a finite number ≥ 0, got ${minutes}`);
  }
  const fromMs = from.getTime();
  let remaining = Math.round(minutes * MINUTE);
  if (remaining === 0) return new Date(fromMs);
  for (const interval of intervalsFrom(preparedOf(calendar), fromMs)) {
    const start = Math.max(interval.start, fromMs);
    const available = interval.end - start;
    if (remaining <= available) return new Date(start + remaining);
    remaining -= available;
  }
  throw new RangeError('business calendar ran out of business hours');
}

/** True when `at` lies inside business hours (an interval's start counts, its end does not). */
export function isBusinessTime(calendar: BusinessCalendar, at: Date): boolean {
  const ms = at.getTime();
  const ready = preparedOf(calendar);
  for (const interval of intervalsFrom(ready, ms, civilDateOf(ready.timezone, ms))) {
    if (interval.start > ms) return false;
    if (interval.end > ms) return true;
  }
  return false;
}
