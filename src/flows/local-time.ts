/**
 * "Wait until Tuesday 10:00 in the customer's time zone": the next instant after a moment at which the
 * wall clock of a zone shows a given weekday and time. Customers have no time zone of their own; the
 * engine uses their home store's (stores.timezone), Asia/Tokyo when they have none.
 */

export const DEFAULT_TIMEZONE = 'Asia/Tokyo';
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

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

/** The zone's wall clock at `ms`, written as if it were UTC. */
function wallClock(timezone: string, ms: number): number {
  const parts = formatterOf(timezone).formatToParts(new Date(Math.floor(ms / 1000) * 1000));
  const value = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(
    value('year'),
    value('month') - 1,
    value('day'),
    value('hour'),
    value('minute'),
    value('second'),
  );
}

const offsetAt = (timezone: string, ms: number) => wallClock(timezone, ms) - Math.floor(ms / 1000) * 1000;

/** The instant a wall-clock time (written as UTC) happens; a time skipped by DST moves past the gap. */
export function instantOf(timezone: string, wall: number): number {
  const before = offsetAt(timezone, wall - 86_400_000);
  const after = offsetAt(timezone, wall + 86_400_000);
  const fits = [wall - before, wall - after].filter((ms) => offsetAt(timezone, ms) === wall - ms);
  return fits.length > 0 ? Math.min(...fits) : wall - before;
}

/** True when `timezone` is an IANA zone the runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    formatterOf(timezone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first instant strictly after `after` at which the wall clock of `timezone` reads `time` ('HH:MM')
 * on `weekday` (any day when absent).
 */
export function nextLocalTime(after: Date, timezone: string, time: string, weekday?: WeekdayName): Date {
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  const today = new Date(wallClock(timezone, after.getTime()));
  for (let add = 0; add <= 8; add++) {
    const wall = Date.UTC(
      today.getUTCFullYear(),
      today.getUTCMonth(),
      today.getUTCDate() + add,
      hour,
      minute,
    );
    if (weekday !== undefined && WEEKDAYS[new Date(wall).getUTCDay()] !== weekday) continue;
    const instant = instantOf(timezone, wall);
    if (instant > after.getTime()) return new Date(instant);
  }
  throw new RangeError(`no ${weekday ?? 'day'} ${time} in ${timezone} after ${after.toISOString()}`);
}
