import type { z } from 'zod';
import { KizunaError } from '../errors.ts';

/** The field an issue is about, as a dotted path without array indexes ("kinds", "address.postal_code"). */
function fieldOf(issue: z.core.$ZodIssue): string | undefined {
  const path = issue.path.filter((segment): segment is string => typeof segment === 'string');
  // An unknown field (strict objects): name it, e.g. "asOf" for a report that takes "to".
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  return path.length > 0 ? path.join('.') : undefined;
}

/** Turns a zod failure into the API's 400: code `invalid_request`, the offending field, a readable message. */
export function invalidRequest(error: z.ZodError): KizunaError {
  const issue = error.issues[0];
  const field = issue ? fieldOf(issue) : undefined;
  const message = issue ? `${field ?? 'request'}: ${issue.message}` : 'Invalid request';
  return new KizunaError('invalid_request', message, { field, status: 400 });
}

/**
 * Validates request input (params, query, body) with a zod schema and returns the parsed value.
 * Done by hand rather than through a Fastify type provider, to keep zod the only schema language; zod 4's
 * `z.toJSONSchema` can produce the OpenAPI document from the same schemas later.
 */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalidRequest(result.error);
  return result.data;
}
