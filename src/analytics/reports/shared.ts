import { type RawBuilder, sql } from 'kysely';

/** The business time zone default: purchase days are calendar days there (as in the CLV summary). */
export const DEFAULT_TIME_ZONE = 'UTC';

/** The calendar day of an order in the business time zone. */
export function orderDay(alias: string, timeZone: string): RawBuilder<string> {
  return sql<string>`(${sql.ref(`${alias}.ordered_at`)} at time zone ${timeZone})::date`;
}

/** A share as a number, or null when the base is empty (a share of nothing is not 0). */
export type Share = number | null;
