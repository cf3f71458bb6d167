/**
 * An error a user can act on: a stable code, a human message and, where known, where it happened.
 * The CLI prints these without a stack trace and exits with status 1; the API answers them as
 * `{ error: { code, message, field? } }`.
 */
export class KizunaError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly status: number;

  constructor(code: string, message: string, options: { field?: string; status?: number } = {}) {
    super(message);
    this.name = 'KizunaError';
    this.code = code;
    this.field = options.field;
    this.status = options.status ?? 400;
  }
}
