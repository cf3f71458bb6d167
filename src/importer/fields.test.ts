import { describe, expect, it } from 'vitest';
import { calendarDate, integer, money, timestamp, yesNo, zonedToUtc } from './fields.ts';

const parse = <T>(
  schema: {
    safeParse(v: unknown): { success: boolean; data?: T; error?: { issues: { message: string }[] } };
  },
  v: string,
) => {
  const r = schema.safeParse(v);
  return r.success ? { ok: r.data } : { error: r.error!.issues[0]!.message };
};

describe('import field parsers', () => {
  it('reads times with Z, with an offset, and without one in the given zone', () => {
    expect(parse(timestamp('UTC'), '2025-03-01T10:15:00Z')).toEqual({ ok: '2025-03-01T10:15:00.000Z' });
    expect(parse(timestamp('UTC'), '2025-03-01 10:15+09:00')).toEqual({ ok: '2025-03-01T01:15:00.000Z' });
    expect(parse(timestamp('UTC'), '2025-03-01T10:15:00.5-0130')).toEqual({ ok: '2025-03-01T11:45:00.500Z' });
    expect(parse(timestamp('Asia/Tokyo'), '2025/3/1 10:15')).toEqual({ ok: '2025-03-01T01:15:00.000Z' });
    expect(parse(timestamp('Asia/Tokyo'), '2025-03-01')).toEqual({ ok: '2025-02-28T15:00:00.000Z' });
  });

  it('follows daylight saving time in the import zone', () => {
    // New York: EST (−5) until 2025-03-09 02:00, then EDT (−4).
    expect(parse(timestamp('America/New_York'), '2025-03-08 12:00')).toEqual({
      ok: '2025-03-08T17:00:00.000Z',
    });
    expect(parse(timestamp('America/New_York'), '2025-03-10 12:00')).toEqual({
      ok: '2025-03-10T16:00:00.000Z',
    });
    expect(new Date(zonedToUtc(Date.UTC(2025, 6, 1, 9, 0), 'Europe/London')).toISOString()).toBe(
      '2025-07-01T08:00:00.000Z',
    );
  });

  it('refuses impossible dates and times with the value in the message', () => {
    expect(parse(timestamp('UTC'), '2025-02-30')).toEqual({
      error: expect.stringContaining("'2025-02-30' is not a date-time"),
    });
    expect(parse(timestamp('UTC'), '2025-01-01 24:00')).toEqual({
      error: expect.stringContaining('is not a date-time'),
    });
    expect(parse(timestamp('UTC', { required: true }), '')).toEqual({ error: 'is required' });
    expect(parse(calendarDate(), '2024-02-29')).toEqual({ ok: '2024-02-29' });
    expect(parse(calendarDate(), '2023-02-29')).toEqual({ error: "'2023-02-29' is not a date (YYYY-MM-DD)" });
  });

  it('keeps amounts exact and refuses currency signs, separators and too many decimals', () => {
    expect(parse(money(), '4800')).toEqual({ ok: '4800' });
    expect(parse(money(), ' 12.50 ')).toEqual({ ok: '12.50' });
    expect(parse(money(), '')).toEqual({ ok: null });
    for (const bad of ['¥4800', '1,234', '1.234', '12e3']) {
      expect(parse(money(), bad)).toEqual({ error: expect.stringContaining('is not an amount') });
    }
    expect(parse(money({ min: 0 }), '-1')).toEqual({ error: 'must be at least 0, got -1' });
  });

  it('reads whole numbers within bounds and yes/no in English and Japanese', () => {
    expect(parse(integer({ min: 1 }), '3')).toEqual({ ok: 3 });
    expect(parse(integer({ min: 1 }), '0')).toEqual({ error: 'must be at least 1, got 0' });
    expect(parse(integer(), '1.5')).toEqual({ error: "'1.5' is not a whole number" });
    expect(parse(yesNo(), 'はい')).toEqual({ ok: true });
    expect(parse(yesNo(), 'No')).toEqual({ ok: false });
    expect(parse(yesNo(), '')).toEqual({ ok: null });
    expect(parse(yesNo(), 'maybe')).toEqual({ error: "'maybe' is not yes or no" });
  });
});
