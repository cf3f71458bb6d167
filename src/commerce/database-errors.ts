/**
 * PostgreSQL's unique_violation on the named constraint, as both engines report it (node-postgres and
 * PGlite both set `code` and `constraint`). Naming the constraint keeps an unrelated clash — say a
 * primary key after rows were loaded with explicit ids — from being reported as the user's duplicate.
 */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  return (
    'code' in error && error.code === '23505' && 'constraint' in error && error.constraint === constraint
  );
}
