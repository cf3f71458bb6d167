import { z } from 'zod';

/**
 * Money is numeric(14,2): an exact decimal string. Arithmetic happens in whole cents as bigint, because
 * a float sum of prices drifts (0.1 + 0.2) and a till total must match the receipt to the yen.
 */

const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/;
/** The largest value numeric(14,2) holds, in cents. */
export const MAX_CENTS = 99_999_999_999_999n;

/** A non-negative amount sent as "1234.50" or 1234.5 (at most 12 digits before the point, 2 after). */
export const MoneyInput = z
  .union([z.string().trim(), z.number()])
  .transform((value) => String(value))
  .refine((text) => AMOUNT.test(text), 'must be an amount ≥ 0 with at most 2 decimals, e.g. "1234.50"');

/** "1234.5" → 123450n. The input must already be a valid amount string. */
export function toCents(amount: string): bigint {
  const negative = amount.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? amount.slice(1) : amount).split('.');
  const cents = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2) || '0');
  return negative ? -cents : cents;
}

/** 123450n → "1234.50", the form PostgreSQL returns numeric(14,2) in. */
export function fromCents(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const whole = abs / 100n;
  const fraction = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** The same amount written as numeric(14,2) writes it ("1234.5" → "1234.50"), for comparisons. */
export function normalizeMoney(amount: string): string {
  return fromCents(toCents(amount));
}
