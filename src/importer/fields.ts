import { z } from 'zod';

/**
 * Field parsers for import rows. Input values are text as read from the file ('' = empty);
 * outputs are what the staging table takes. Each refusal says what was expected.
 */

const empty = (value: string) => value.trim() === '';

/** Optional text: '' becomes null. */
export const optionalText = (max = 2000) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || empty(v) ? null : v.trim()))
    .refine((v) => v === null || v.length <= max, `longer than ${max} characters`);

/** Required text (an id, a name). */
export const requiredText = (max = 500) =>
  z
    .string({ error: 'is required' })
    .transform((v) => v.trim())
    .refine((v) => v.length > 0, 'is required')
    .refine((v) => v.length <= max, `longer than ${max} characters`);

type Refuse = (message: string) => null;

/**
 * A field read from text: trimmed; empty is null (or refused as required); anything else goes to
 * `parse`, which returns the value or refuses it with a message naming what was expected.
 */
function textField<T>(
  parse: (text: string, refuse: Refuse) => T | null,
  options: { required?: boolean; requiredMessage?: string } = {},
) {
  return z
    .string()
    .optional()
    .transform((value, ctx): T | null => {
      const text = value?.trim() ?? '';
      const refuse: Refuse = (message) => {
        ctx.addIssue({ code: 'custom', message });
        return null;
      };
      if (text === '') return options.required ? refuse(options.requiredMessage ?? 'is required') : null;
      return parse(text, refuse);
    });
}

const DECIMAL = /^-?\d{1,12}(\.\d{1,2})?$/;

/** A money amount: plain digits with at most two decimals ('1234.50'); kept as an exact string. */
export const money = (options: { required?: boolean; min?: number } = {}) =>
  textField((text, refuse) => {
    if (!DECIMAL.test(text))
      return refuse(`'${text}' is not an amount (digits, optional '.' and 2 decimals)`);
    if (options.min !== undefined && Number(text) < options.min) {
      return refuse(`must be at least ${options.min}, got ${text}`);
    }
    return text;
  }, options);

/** A whole number within bounds. */
export const integer = (options: { required?: boolean; min?: number; max?: number } = {}) =>
  textField((text, refuse) => {
    if (!/^-?\d{1,9}$/.test(text)) return refuse(`'${text}' is not a whole number`);
    const n = Number(text);
    if (options.min !== undefined && n < options.min)
      return refuse(`must be at least ${options.min}, got ${n}`);
    if (options.max !== undefined && n > options.max)
      return refuse(`must be at most ${options.max}, got ${n}`);
    return n;
  }, options);

const YES = new Set(['yes', 'y', 'true', 't', '1', 'はい', 'on']);
const NO = new Set(['no', 'n', 'false', 'f', '0', 'いいえ', 'off']);

/** yes/no (also true/false, 1/0, はい/いいえ); '' = not stated (null). */
export const yesNo = () =>
  textField((text, refuse) => {
    const word = text.toLowerCase();
    if (YES.has(word)) return true;
    if (NO.has(word)) return false;
    return refuse(`'${text}' is not yes or no`);
  });

export const oneOf = <const T extends readonly [string, ...string[]]>(
  values: T,
  options: { required?: boolean } = {},
) =>
  textField(
    (text, refuse) => {
      const word = text.toLowerCase();
      if (!(values as readonly string[]).includes(word))
        return refuse(`'${text}' is not one of ${values.join(', ')}`);
      return word as T[number];
    },
    { ...options, requiredMessage: `is required (one of ${values.join(', ')})` },
  );

const DATE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/;
const DATE_TIME =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function validDay(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** A calendar date: YYYY-MM-DD (or YYYY/MM/DD). */
export const calendarDate = () =>
  textField((text, refuse) => {
    const m = DATE.exec(text);
    if (!m || !validDay(Number(m[1]), Number(m[2]), Number(m[3])))
      return refuse(`'${text}' is not a date (YYYY-MM-DD)`);
    return `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`;
  });

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes the zone is ahead of UTC at a UTC instant. */
function zoneOffsetMinutes(utcMillis: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(utcMillis))) p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return Math.round((asUtc - Math.floor(utcMillis / 1000) * 1000) / 60000);
}

/** Converts a wall-clock time in a zone to UTC milliseconds. */
export function zonedToUtc(wallClockAsUtc: number, timeZone: string): number {
  if (timeZone === 'UTC') return wallClockAsUtc;
  let utc = wallClockAsUtc - zoneOffsetMinutes(wallClockAsUtc, timeZone) * 60000;
  utc = wallClockAsUtc - zoneOffsetMinutes(utc, timeZone) * 60000;
  return utc;
}

/** Checks a time zone name; throws RangeError for an unknown one. */
export function assertTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone });
}

/**
 * A point in time: ISO 8601 (`2025-03-01T10:15:00Z`, `2025-03-01 10:15+09:00`, `2025-03-01`).
 * Without an offset the time is read in `timeZone` (the import's --timezone). Output: UTC ISO text.
 */
export const timestamp = (timeZone: string, options: { required?: boolean } = {}) =>
  textField((text, refuse) => {
    const m = DATE_TIME.exec(text);
    const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m?.[i] ?? 0)) as number[];
    if (!m || !validDay(y!, mo!, d!) || h! > 23 || mi! > 59 || s! > 59) {
      return refuse(`'${text}' is not a date-time (ISO 8601, e.g. 2025-03-01T10:15:00Z)`);
    }
    const fraction = Number(`0.${m[7] ?? '0'}`) * 1000;
    const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) + Math.round(fraction);
    const zone = m[8];
    let utc: number;
    if (!zone) utc = zonedToUtc(wall, timeZone);
    else if (zone.toUpperCase() === 'Z') utc = wall;
    else {
      const digits = zone.replace(':', '');
      const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || 0);
      utc = wall - (zone[0] === '-' ? -minutes : minutes) * 60000;
    }
    return new Date(utc).toISOString();
  }, options);
