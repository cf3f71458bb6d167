import { type RawBuilder, sql } from 'kysely';

/** `a and b and …` in parentheses; `true` for none. */
export function allOf(parts: readonly RawBuilder<unknown>[]): RawBuilder<boolean> {
  if (parts.length === 0) return sql<boolean>`true`;
  return sql<boolean>`(${sql.join(parts, sql` and `)})`;
}

/** `a or b or …` in parentheses; `false` for none. */
export function anyOf(parts: readonly RawBuilder<unknown>[]): RawBuilder<boolean> {
  if (parts.length === 0) return sql<boolean>`false`;
  return sql<boolean>`(${sql.join(parts, sql` or `)})`;
}

/** The bounds of a range condition: at least `min`, at most `max`, as SQL and as a plain test. */
export function withinBounds(value: RawBuilder<unknown>, min?: number, max?: number): RawBuilder<boolean>[] {
  const parts: RawBuilder<boolean>[] = [];
  if (min !== undefined) parts.push(sql<boolean>`${value} >= ${min}`);
  if (max !== undefined) parts.push(sql<boolean>`${value} <= ${max}`);
  return parts;
}

export const inBounds = (value: number, min?: number, max?: number): boolean =>
  (min === undefined || value >= min) && (max === undefined || value <= max);
