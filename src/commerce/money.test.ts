import { describe, expect, it } from 'vitest';
import { fromCents, MoneyInput, normalizeMoney, toCents } from './money.ts';

describe('money in cents', () => {
  it('round-trips decimal strings exactly', () => {
    expect(toCents('1234.5')).toBe(123450n);
    expect(toCents('0.07')).toBe(7n);
    expect(toCents('3000')).toBe(300000n);
    expect(fromCents(123450n)).toBe('1234.50');
    expect(fromCents(7n)).toBe('0.07');
    expect(fromCents(-7n)).toBe('-0.07');
    expect(normalizeMoney('999999999999.99')).toBe('999999999999.99');
  });

  it('sums without float drift', () => {
    const sum = ['0.10', '0.20', '0.30'].map(toCents).reduce((a, b) => a + b, 0n);
    expect(fromCents(sum)).toBe('0.60');
    expect(0.1 + 0.2 + 0.3).not.toBe(0.6);
  });

  it('accepts strings and numbers with at most two decimals, nothing else', () => {
    expect(MoneyInput.parse('12.5')).toBe('12.5');
    expect(MoneyInput.parse(0.1)).toBe('0.1');
    expect(MoneyInput.safeParse('1.234').success).toBe(false);
    expect(MoneyInput.safeParse(-1).success).toBe(false);
    expect(MoneyInput.safeParse(1e21).success).toBe(false);
    expect(MoneyInput.safeParse('1e3').success).toBe(false);
  });
});
