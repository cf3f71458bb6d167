import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, generateDemo, type Row } from './index.ts';
import { bgnbdExpectedPurchases, bgnbdProbabilityAlive, gammaGammaMeanSpend } from './truth.ts';

/**
 * The generated data against the models' closed forms. Every tolerance is 3 standard errors of the
 * statistic at this sample size (the standard error estimated from the sample where the population
 * variance is not known in closed form), plus, where orders are built from drawn values, the documented
 * rounding allowance of composeOrder.
 */

const CUSTOMERS = 20_000;
const WEEK_MS = 7 * 86_400_000;
const { r, alpha, a, b } = DEFAULT_PARAMS;

function meanAndSe(values: readonly number[]): { mean: number; se: number; n: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), n };
}

type CustomerOrders = { customer: string; orders: { atMs: number; total: number }[] };

/** Groups order lines into orders per customer (orders of one customer are contiguous and in time order). */
function* ordersByCustomer(
  lines: Iterable<Row>,
  skip: ReadonlySet<string> = new Set(),
): Generator<CustomerOrders> {
  let current: CustomerOrders | null = null;
  let lastOrder = '';
  for (const line of lines) {
    if (current === null || current.customer !== line.customer_id) {
      if (current) yield current;
      current = { customer: line.customer_id!, orders: [] };
      lastOrder = '';
    }
    if (skip.has(line.order_id!)) continue;
    const amount = Number(line.quantity) * Number(line.unit_price);
    if (line.order_id === lastOrder) current.orders[current.orders.length - 1]!.total += amount;
    else current.orders.push({ atMs: Date.parse(line.ordered_at!), total: amount });
    lastOrder = line.order_id!;
  }
  if (current) yield current;
}

/**
 * From orders alone: for customers observed at least t weeks, the number of repeat orders in the t weeks
 * after their first order (the acquisition purchase), compared with E[X(t)] (FHL 2005 eq. 7).
 */
function checkRepeatPurchases(customers: readonly CustomerOrders[], asOfMs: number, t: number): void {
  const counts: number[] = [];
  for (const { orders } of customers) {
    const first = orders[0]!.atMs;
    if (asOfMs - first < t * WEEK_MS) continue;
    counts.push(orders.filter((o) => o.atMs > first && o.atMs <= first + t * WEEK_MS).length);
  }
  const { mean, se, n } = meanAndSe(counts);
  const expected = bgnbdExpectedPurchases(t, DEFAULT_PARAMS);
  expect(n).toBeGreaterThan(CUSTOMERS / 4);
  expect(Math.abs(mean - expected), `t=${t}: mean ${mean} vs E[X(t)] ${expected}, se ${se}`).toBeLessThan(
    3 * se,
  );
}

const AS_OF_MS = Date.parse('2026-10-31T23:59:59Z');

describe('BG/NBD and Gamma-Gamma truth (20,000 customers)', () => {
  // Without lens and glasses wearers every order is a BG/NBD order, so orders.csv alone must follow the model.
  const pure = generateDemo({
    customers: CUSTOMERS,
    seed: 2005,
    params: { contactLensShare: 0, glassesShare: 0 },
  });
  const pureCustomers = [...ordersByCustomer(pure.orders())];
  const pureLatent = [...pure.latent()];

  it('draws λ ~ Gamma(r, α) and p ~ Beta(a, b) per customer', () => {
    const lambda = meanAndSe(pureLatent.map((l) => Number(l.lambda)));
    // Var λ = r/α²; Var p = ab/((a+b)²(a+b+1)).
    expect(Math.abs(lambda.mean - r / alpha)).toBeLessThan((3 * Math.sqrt(r)) / alpha / Math.sqrt(CUSTOMERS));
    const p = meanAndSe(pureLatent.map((l) => Number(l.p)));
    const pSd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
    expect(Math.abs(p.mean - a / (a + b))).toBeLessThan((3 * pSd) / Math.sqrt(CUSTOMERS));
  });

  it('drops customers out as often as 1 − P(alive at T) predicts', () => {
    // Each customer is an independent Bernoulli with success 1 − P(alive at its own T).
    let expected = 0;
    let variance = 0;
    let observed = 0;
    for (const l of pureLatent) {
      const dead = 1 - bgnbdProbabilityAlive(Number(l.t_weeks), DEFAULT_PARAMS);
      expected += dead;
      variance += dead * (1 - dead);
      if (l.dropout_week !== '') observed += 1;
    }
    expect(Math.abs(observed - expected)).toBeLessThan(3 * Math.sqrt(variance));
  });

  it.each([13, 52, 104])('matches E[X(%s weeks)] from the orders file alone', (t) => {
    checkRepeatPurchases(pureCustomers, AS_OF_MS, t);
  });

  it('agrees with the latent (x, t_x) summary', () => {
    const mismatches = pureCustomers.filter(
      (c, i) => c.orders.length !== Number(pureLatent[i]!.bgnbd_orders),
    );
    expect(mismatches).toEqual([]);
  });

  it('recovers the Gamma-Gamma mean pγ/(q−1) from drawn values and from realised order totals', () => {
    const expected = gammaGammaMeanSpend(DEFAULT_PARAMS);
    // Each customer's own mean has expectation E[p/ν] = pγ/(q−1), whatever their number of orders.
    const drawn = meanAndSe(pureLatent.map((l) => Number(l.z_mean)));
    expect(Math.abs(drawn.mean - expected), `drawn ${drawn.mean} se ${drawn.se}`).toBeLessThan(3 * drawn.se);
    const realised = meanAndSe(
      pureCustomers.map((c) => c.orders.reduce((s, o) => s + o.total, 0) / c.orders.length),
    );
    // Rounding allowance: composeOrder's total is within ~100 yen of z and nearly unbiased; 0.5 % of E[z].
    const allowance = 0.005 * expected;
    expect(Math.abs(realised.mean - drawn.mean), 'realised vs drawn').toBeLessThan(allowance);
    expect(Math.abs(realised.mean - expected), `realised ${realised.mean} se ${realised.se}`).toBeLessThan(
      3 * realised.se + allowance,
    );
  });

  it('keeps BG/NBD intact beside the replacement cycles once latent.cycle_order_ids are removed', () => {
    const demo = generateDemo({ customers: CUSTOMERS, seed: 2006 });
    const cycleOrders = new Set<string>();
    let wearers = 0;
    for (const l of demo.latent()) {
      if (l.cycle_order_ids === '') continue;
      wearers += 1;
      for (const id of l.cycle_order_ids!.split('|')) cycleOrders.add(id);
    }
    expect(wearers).toBeGreaterThan(CUSTOMERS * 0.1);
    const customers = [...ordersByCustomer(demo.orders(), cycleOrders)];
    checkRepeatPurchases(customers, AS_OF_MS, 52);
  });
});
