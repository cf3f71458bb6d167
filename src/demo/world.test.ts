import { describe, expect, it } from 'vitest';
import { Rng } from './random.ts';
import { DAY_MS, HOUR_MS, isoTime, JST_OFFSET_MS, modelTimeAtOrBefore, shopTime, WEEK_MS } from './world.ts';

const jstHour = (ms: number): number => ((((ms + JST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;

describe('shop clock', () => {
  const rng = new Rng(99);
  const base = Date.UTC(2024, 0, 1);
  const samples = Array.from({ length: 20_000 }, () => base + rng.uniform(0, 1000) * DAY_MS);

  it('puts every time inside the 10:00–20:00 JST opening hours of the same JST day', () => {
    const outside = samples.filter((s) => {
      const hour = jstHour(shopTime(s));
      const sameDay =
        Math.floor((s + JST_OFFSET_MS) / DAY_MS) === Math.floor((shopTime(s) + JST_OFFSET_MS) / DAY_MS);
      return hour < 10 || hour > 20 || !sameDay;
    });
    expect(outside).toEqual([]);
  });

  it('is strictly increasing and commutes with whole-day shifts, so whole-day windows keep their counts', () => {
    const sorted = [...samples].sort((x, y) => x - y);
    const mapped = sorted.map(shopTime);
    expect(mapped.every((m, i) => i === 0 || m > mapped[i - 1]!)).toBe(true);
    for (const s of samples.slice(0, 1000)) {
      expect(shopTime(s + 52 * WEEK_MS)).toBeCloseTo(shopTime(s) + 52 * WEEK_MS, 3);
    }
  });

  it('inverts at a boundary: shopTime(modelTimeAtOrBefore(c)) ≤ c, and nothing later maps before c', () => {
    for (const c of samples.slice(0, 2000)) {
      const model = modelTimeAtOrBefore(c);
      expect(shopTime(model)).toBeLessThanOrEqual(c + 1e-6);
      expect(shopTime(model + 1000)).toBeGreaterThan(c - 1000);
    }
    // asOf 2026-10-31T23:59:59Z is 08:59:59 JST on Nov 1, before opening: model time ends at JST midnight.
    expect(isoTime(modelTimeAtOrBefore(Date.UTC(2026, 9, 31, 23, 59, 59)))).toBe('2026-10-31T14:59:59Z');
  });
});

describe('isoTime', () => {
  it('formats like Date#toISOString to the second', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 10_000; i++) {
      const ms = Math.floor(rng.uniform(-1e12, 3e12) / 1000) * 1000;
      expect(isoTime(ms)).toBe(`${new Date(ms).toISOString().slice(0, 19)}Z`);
    }
  });
});
