import { describe, expect, it } from 'vitest';
import {
  customerLifetimeValue,
  customerLifetimeValues,
  type PurchasePredictor,
  totalCustomerEquity,
} from './clv.ts';
import { groupRfm, groupSpend, validateRfm } from './rfm.ts';

const histories = {
  frequency: Float64Array.of(0, 2, 5),
  recency: Float64Array.of(0, 10, 30),
  T: Float64Array.of(20, 39, 39),
};

describe('customerLifetimeValue', () => {
  it('with a constant purchase rate is the discounted annuity margin · spend · rate · Σ 1/(1+d)^k', () => {
    // E[X(t)] = c_i · t: c_i · u purchases every month.
    const rates = Float64Array.of(0.1, 0.5, 2);
    const predict: PurchasePredictor = (t, c) => c.frequency.map((_, i) => rates[i]! * t);
    const spend = Float64Array.of(10, 20, 30);
    const u = 4.348;
    const clv = customerLifetimeValue(predict, histories, spend, {
      unitsPerMonth: u,
      months: 24,
      monthlyDiscountRate: 0.02,
      margin: Float64Array.of(0.5, 0.3, 0.2),
    });
    const annuity = (1 - 1.02 ** -24) / 0.02;
    const margins = [0.5, 0.3, 0.2];
    for (let i = 0; i < 3; i++)
      expect(clv[i]).toBeCloseTo(margins[i]! * spend[i]! * rates[i]! * u * annuity, 9);
    expect(totalCustomerEquity(clv)).toBeCloseTo(clv[0]! + clv[1]! + clv[2]!, 9);
    expect(totalCustomerEquity(clv, Float64Array.of(2, 1, 1))).toBeCloseTo(
      2 * clv[0]! + clv[1]! + clv[2]!,
      9,
    );
  });

  it('defaults: 12 months, 1 % a month, margin 1; no discount and no horizon give the obvious values', () => {
    const predict: PurchasePredictor = (t, c) => c.frequency.map(() => Math.sqrt(t));
    const spend = Float64Array.of(1, 1, 1);
    const undiscounted = customerLifetimeValue(predict, histories, spend, {
      unitsPerMonth: 1,
      monthlyDiscountRate: 0,
    });
    expect(undiscounted[0]).toBeCloseTo(Math.sqrt(12), 12);
    const zero = customerLifetimeValue(predict, histories, spend, { unitsPerMonth: 1, months: 0 });
    expect(Array.from(zero)).toEqual([0, 0, 0]);
    const discounted = customerLifetimeValue(predict, histories, spend, { unitsPerMonth: 1 });
    let expected = 0;
    for (let k = 1; k <= 12; k++) expected += (Math.sqrt(k) - Math.sqrt(k - 1)) / 1.01 ** k;
    expect(discounted[0]).toBeCloseTo(expected, 12);
  });

  it('the per-customer (scalar) form gives the same values', () => {
    const predict: PurchasePredictor = (t, c) => c.frequency.map((x) => (x + 1) * Math.log1p(t));
    const spend = Float64Array.of(3, 4, 5);
    const vector = customerLifetimeValue(predict, histories, spend, { unitsPerMonth: 4.348, margin: 0.4 });
    const scalar = customerLifetimeValues({
      expectedPurchases: (t, i) => (histories.frequency[i]! + 1) * Math.log1p(t),
      expectedSpend: spend,
      customers: 3,
      unitsPerMonth: 4.348,
      margin: 0.4,
    });
    for (let i = 0; i < 3; i++) expect(scalar[i]).toBeCloseTo(vector[i]!, 12);
  });

  it('rejects mismatched inputs', () => {
    const predict: PurchasePredictor = (_t, c) => new Float64Array(c.frequency.length);
    expect(() =>
      customerLifetimeValue(predict, histories, Float64Array.of(1), { unitsPerMonth: 1 }),
    ).toThrow();
    expect(() =>
      customerLifetimeValue(predict, histories, Float64Array.of(1, 1, 1), { unitsPerMonth: 0 }),
    ).toThrow();
  });
});

describe('groupRfm / groupSpend', () => {
  it('groups identical histories with weights, in order of first appearance', () => {
    const data = groupRfm([0, 2, 0, 2, 2], [0, 10, 0, 10, 11], [39, 39, 39, 39, 39]);
    expect(Array.from(data.frequency)).toEqual([0, 2, 2]);
    expect(Array.from(data.recency)).toEqual([0, 10, 11]);
    expect(Array.from(data.weight)).toEqual([2, 2, 1]);
    const spend = groupSpend([1, 1, 3], [5, 5, 7]);
    expect(Array.from(spend.weight)).toEqual([2, 1]);
  });

  it('validates the summary', () => {
    expect(() => groupRfm([1.5], [1], [2])).toThrow(/count/);
    expect(() => groupRfm([1], [3], [2])).toThrow(/recency/);
    expect(() => groupRfm([0], [1], [2])).toThrow(/recency must be 0/);
    expect(() => groupRfm([0], [0], [0])).toThrow(/T/);
    expect(() => groupSpend([0], [5])).toThrow(/positive count/);
    expect(() =>
      validateRfm({
        frequency: Float64Array.of(1),
        recency: Float64Array.of(1),
        T: Float64Array.of(2),
        weight: Float64Array.of(0),
      }),
    ).toThrow(/weight/);
  });
});
