/**
 * Time zones through Intl (no dependency): a zone's wall clock at an instant, and the instant a wall-clock
 * time happens. Used by the SLA business-hours calendars (src/service/calendar.ts) and by the flows' "wait
 * until Tuesday 10:00 in the customer's time zone" (src/flows/local-time.ts).
 *
 * A wall-clock time that does not exist (the hour skipped in spring) means the instant just after the gap;
 * one that occurs twice (the hour repeated in autumn) means the first of the two — the "compatible" rule of
 * Temporal and of RFC 5545.
 */

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** True when the runtime knows `timezone` as an IANA zone. */
export function isTimeZone(timezone: string): boolean {
  try {
    formatterOf(timezone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock of `timezone` at `ms`, written as if it were UTC (ms since epoch, whole seconds). */
export function wallClockMs(timezone: string, ms: number): number {
  const parts = formatterOf(timezone).formatToParts(new Date(Math.floor(ms / 1000) * 1000));
  const value = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((part) => part.type === type)?.value);
  return Date.UTC(
    value('year'),
    value('month') - 1,
    value('day'),
    value('hour'),
    value('minute'),
    value('second'),
  );
}

const offsets = new Map<string, Map<number, number>>();
/** Offsets remembered per zone; Intl's formatToParts is the slow step of every calculation. */
const OFFSET_CACHE_LIMIT = 50_000;

/** Local time minus UTC at the instant `ms`, in ms (Tokyo: +9 h). */
export function offsetAt(timezone: string, ms: number): number {
  const wholeSecond = Math.floor(ms / 1000) * 1000;
  let cache = offsets.get(timezone);
  if (!cache) {
    cache = new Map();
    offsets.set(timezone, cache);
  }
  let offset = cache.get(wholeSecond);
  if (offset === undefined) {
    offset = wallClockMs(timezone, wholeSecond) - wholeSecond;
    if (cache.size >= OFFSET_CACHE_LIMIT) cache.clear();
    cache.set(wholeSecond, offset);
  }
  return offset;
}

/**
 * The instant of the wall-clock time `wall` (local time written as if UTC). Zones change offset at most once
 * within a day on either side, so the offsets a day before and a day after are the only candidates.
 */
export function instantOfWallClock(timezone: string, wall: number): number {
  const before = offsetAt(timezone, wall - DAY_MS);
  const after = offsetAt(timezone, wall + DAY_MS);
  // No change of offset near this day (nearly every day): the one offset is the answer.
  if (before === after) return wall - before;
  const candidates = [wall - before, wall - after].filter((ms) => offsetAt(timezone, ms) === wall - ms);
  // Repeated hour: both exist, the earlier is the first occurrence. Skipped hour: neither exists; reading the
  // wall time with the offset before the change lands just after the gap (02:30 EST → 03:30 EDT).
  return candidates.length > 0 ? Math.min(...candidates) : wall - before;
}
