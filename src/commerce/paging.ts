/** One page of a list: at most `limit` rows after skipping `offset`. */
export type Paging = { limit: number; offset: number };

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGING: Paging = { limit: DEFAULT_PAGE_SIZE, offset: 0 };

/**
 * Lists fetch `limit + 1` rows so that the caller learns whether another page exists without a count(*)
 * over the customer's whole history; this trims the extra row and says whether there was one.
 */
export function pageOf<T>(rows: T[], paging: Paging): { items: T[]; hasMore: boolean } {
  return { items: rows.slice(0, paging.limit), hasMore: rows.length > paging.limit };
}
