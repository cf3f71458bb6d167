import type { z } from 'zod';
import { KizunaError } from '../errors.ts';

/**
 * Validates like the API's `parseInput`, but the field keeps array indexes ("lines.2.sku"): in an order
 * of twenty lines, "lines.sku" does not tell the till which line to fix. Indexes count from 0, as in the
 * JSON that was sent.
 */
export function validateWithPath<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  const message = issue ? `${field ?? 'request'}: ${issue.message}` : 'Invalid request';
  throw new KizunaError('invalid_request', message, { field, status: 400 });
}
