/**
 * "Wait until Tuesday 10:00 in the customer's time zone": the next instant after a moment at which the
 * wall clock of a zone shows a given weekday and time. Customers have no time zone of their own; the
 * engine uses their home store's (stores.timezone), Asia/Tokyo when they have none.
 */

import { instantOfWallClock, wallClockMs } from '../time-zone.ts';

export { isTimeZone } from '../time-zone.ts';

export const DEFAULT_TIMEZONE = 'Asia/Tokyo';
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

/**
 * The first instant strictly after `after` at which the wall clock of `timezone` reads `time` ('HH:MM')
 * on `weekday` (any day when absent).
 */
export function nextLocalTime(after: Date, timezone: string, time: string, weekday?: WeekdayName): Date {
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  const today = new Date(wallClockMs(timezone, after.getTime()));
  for (let add = 0; add <= 8; add++) {
    const wall = Date.UTC(
      today.getUTCFullYear(),
      today.getUTCMonth(),
      today.getUTCDate() + add,
      hour,
      minute,
    );
    if (weekday !== undefined && WEEKDAYS[new Date(wall).getUTCDay()] !== weekday) continue;
    const instant = instantOfWallClock(timezone, wall);
    if (instant > after.getTime()) return new Date(instant);
  }
  throw new RangeError(`no ${weekday ?? 'day'} ${time} in ${timezone} after ${after.toISOString()}`);
}
