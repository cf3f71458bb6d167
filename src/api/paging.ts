import { z } from 'zod';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Paging } from '../commerce/index.ts';

const whole = (message: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, message)
    .transform(Number);

/** `?limit&offset` of a list route: limit 1–200 (default 50), a larger one is refused, not clipped. */
export const PagingQuery = z.object({
  limit: whole(`must be an integer from 1 to ${MAX_PAGE_SIZE}`)
    .pipe(
      z
        .number()
        .int()
        .min(1, `must be an integer from 1 to ${MAX_PAGE_SIZE}`)
        .max(MAX_PAGE_SIZE, `must be an integer from 1 to ${MAX_PAGE_SIZE}`),
    )
    .optional()
    .describe(`rows per page, default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}`),
  offset: whole('must be a whole number').optional().describe('rows to skip, default 0'),
});

export function pagingOf(query: z.output<typeof PagingQuery>): Paging {
  return { limit: query.limit ?? DEFAULT_PAGE_SIZE, offset: query.offset ?? 0 };
}
