import { PRODUCTS, STAFF, STORES } from './catalog.ts';
import type { DemoFile, Row } from './columns.ts';
import { type CustomerCore, customerRow, drawCore, externalCustomerId } from './customer.ts';
import { interactionRows, SERVICE_RESPONSE_EFFECT } from './interactions.ts';
import { type NumberedOrder, orderId, orderLineRows, returnRows, simulateOrders } from './orders.ts';
import type { DemoOptions, DemoParams } from './params.ts';
import { preferenceRows } from './preferences.ts';
import { touchRows } from './touches.ts';
import { bgnbdExpectedPurchases, expectedPurchasesIfAlive, gammaGammaMeanSpend } from './truth.ts';
import { createWorld, decimal, isoTime, shopTime, type World } from './world.ts';

/** Running id counters of one pass over the customers (ids are global and sequential). */
type Counters = {
  orders: number;
  returns: number;
  touches: number;
  interactions: number;
  preferences: number;
};

type IdMakers = Record<Exclude<keyof Counters, 'orders'>, () => string>;

/** The state of one pass over all customers: id counters, id makers (made once, not per customer), tally. */
type PassState = { counters: Counters; ids: IdMakers; tally: SpendTally };

function idMaker(counters: Counters, key: Exclude<keyof Counters, 'orders'>, prefix: string): () => string {
  return () => {
    counters[key] += 1;
    return `${prefix}${String(counters[key]).padStart(8, '0')}`;
  };
}

/** A customer's orders with their global ids (ids follow the customer's time order). */
function numberedOrders(world: World, core: CustomerCore, counters: Counters): NumberedOrder[] {
  return simulateOrders(world, core).map((order) => {
    counters.orders += 1;
    return { ...order, id: orderId(counters.orders) };
  });
}

/** Drawn vs realised Gamma-Gamma spend over the BG/NBD orders of a pass (the gap is the rounding). */
export type SpendSummary = {
  /** E[z] = pγ/(q−1), the population mean transaction value. */
  expectedMean: number;
  bgnbdOrders: number;
  /** Means over BG/NBD orders (each order weighs the same). */
  drawnMean: number;
  realisedMean: number;
  /** Means over customers of each customer's own mean (each customer weighs the same; E = pγ/(q−1) too). */
  perCustomerDrawnMean: number;
  perCustomerRealisedMean: number;
};

export type DemoCounts = Record<DemoFile, number | null> & { orderHeaders: number | null };

export type DemoManifest = {
  generator: 'kizuna-demo';
  formatVersion: 1;
  seed: number;
  asOf: string;
  /** The earliest possible created_at (customers are acquired between it and asOf). */
  acquisitionFrom: string;
  customers: number;
  params: DemoParams;
  truth: {
    /** E[λ] = r/α purchases per week. */
    meanLambda: number;
    /** E[p] = a/(a+b). */
    meanDropoutProbability: number;
    /** FHL 2005 eq. 7 at t = 52 weeks, for a customer just acquired. */
    expectedRepeatPurchases52Weeks: number;
    /** pγ/(q−1) yen. */
    meanTransactionValue: number;
    /** Touches never change purchases in this generator: every true lift is 0. */
    touchLift: 0;
    /** Reply speed and loyalty: the planted first-response delays (SERVICE_RESPONSE_EFFECT, interactions.ts). */
    serviceResponse: typeof SERVICE_RESPONSE_EFFECT;
  };
  /**
   * Rows per file. Reference files and customers/latent are known up front; the others are null until a
   * full pass over them has run (generateDemo's iterable was consumed to the end, or writeDemoFiles ran).
   * orderHeaders counts distinct orders; `orders` counts order lines (rows of orders.csv).
   */
  counts: DemoCounts;
  /** Null until orders() or latent() has been consumed to the end. */
  spend: SpendSummary | null;
};

export type DemoData = {
  stores(): Iterable<Row>;
  staff(): Iterable<Row>;
  products(): Iterable<Row>;
  customers(): Iterable<Row>;
  /** One row per order line; a customer's orders in time order, an order's lines contiguous. */
  orders(): Iterable<Row>;
  returns(): Iterable<Row>;
  touches(): Iterable<Row>;
  interactions(): Iterable<Row>;
  preferences(): Iterable<Row>;
  /** The per-customer truth (see latentRow). */
  latent(): Iterable<Row>;
  manifest(): DemoManifest;
};

export function storeRows(): Row[] {
  return STORES.map((s) => ({ code: s.code, name: s.name, timezone: s.timezone }));
}

export function staffRows(): Row[] {
  return STAFF.map((s) => ({ code: s.code, name: s.name, email: s.email, role: s.role, store: s.store }));
}

export function productRows(): Row[] {
  return PRODUCTS.map((p) => ({
    sku: p.sku,
    name: p.name,
    category: p.category,
    price: String(p.price),
    unit_cost: String(p.unitCost),
    repurchase_cycle_days: p.repurchaseCycleDays === null ? '' : String(p.repurchaseCycleDays),
  }));
}

/** Accumulates SpendSummary over a pass. */
class SpendTally {
  private orders = 0;
  private drawn = 0;
  private realised = 0;
  private customers = 0;
  private customerDrawn = 0;
  private customerRealised = 0;

  add(orders: readonly NumberedOrder[]): { zMean: number; realisedMean: number } {
    let n = 0;
    let drawn = 0;
    let realised = 0;
    for (const order of orders) {
      if (order.z === null) continue;
      n += 1;
      drawn += order.z;
      realised += order.total;
    }
    this.orders += n;
    this.drawn += drawn;
    this.realised += realised;
    if (n > 0) {
      this.customers += 1;
      this.customerDrawn += drawn / n;
      this.customerRealised += realised / n;
    }
    return { zMean: n > 0 ? drawn / n : Number.NaN, realisedMean: n > 0 ? realised / n : Number.NaN };
  }

  summary(params: DemoParams): SpendSummary | null {
    if (this.orders === 0) return null;
    return {
      expectedMean: gammaGammaMeanSpend(params),
      bgnbdOrders: this.orders,
      drawnMean: this.drawn / this.orders,
      realisedMean: this.realised / this.orders,
      perCustomerDrawnMean: this.customerDrawn / this.customers,
      perCustomerRealisedMean: this.customerRealised / this.customers,
    };
  }
}

/**
 * One row of latent.csv, the truth behind one customer (weeks are model time; see shopTime in world.ts):
 * - acquired_at (= created_at), t_weeks: weeks from acquisition to asOf (T);
 * - lambda (purchases/week), p (dropout probability after each repeat purchase), nu (Gamma-Gamma rate);
 *   mean_spend = p_GG/ν, this customer's expected transaction value in yen;
 * - alive_at_as_of yes/no; dropout_week: weeks after acquisition of the repeat purchase after which the
 *   customer dropped out, '' if alive at asOf;
 * - bgnbd_orders: BG/NBD orders including the acquisition purchase; bgnbd_repeat_purchases = x, and
 *   bgnbd_last_purchase_week = t_x (0 when x = 0), exactly the (x, t_x, T) summary BG/NBD is fitted on;
 * - z_mean: mean of the drawn Gamma-Gamma values of those orders; realised_mean: mean of their totals;
 * - lens_orders, glasses_orders: orders from the replacement cycles, and cycle_order_ids ('|'-separated):
 *   their ids, i.e. the orders that are not BG/NBD purchases;
 * - expected_purchases_52w: expected repeat purchases in the 52 weeks after asOf given the true λ, p and
 *   alive state ((1 − e^{−52λp})/p if alive, else 0): the target a CLV model's prediction aims at;
 * - affinity (a_only, b_only, both, none), interests ('|'-separated categories), duplicate_of (the
 *   external id whose identity this record repeats, or '').
 */
function latentRow(
  world: World,
  core: CustomerCore,
  orders: readonly NumberedOrder[],
  tally: SpendTally,
): Row {
  const { zMean, realisedMean } = tally.add(orders);
  const cycleOrders = orders.filter((o) => o.source !== 'bgnbd');
  const lensOrders = cycleOrders.filter((o) => o.source === 'lens').length;
  const x = core.purchaseWeeks.length - 1;
  const alive = core.dropoutWeek === null;
  return {
    external_id: core.externalId,
    acquired_at: isoTime(core.createdMs),
    t_weeks: decimal(core.tWeeks),
    lambda: decimal(core.lambda),
    p: decimal(core.p),
    nu: decimal(core.nu),
    mean_spend: decimal(world.params.p / core.nu),
    alive_at_as_of: alive ? 'yes' : 'no',
    dropout_week: core.dropoutWeek === null ? '' : decimal(core.dropoutWeek),
    bgnbd_orders: String(core.purchaseWeeks.length),
    bgnbd_repeat_purchases: String(x),
    bgnbd_last_purchase_week: decimal(core.purchaseWeeks[x]!),
    z_mean: decimal(zMean),
    realised_mean: decimal(realisedMean),
    lens_orders: String(lensOrders),
    glasses_orders: String(cycleOrders.length - lensOrders),
    cycle_order_ids: cycleOrders.map((o) => o.id).join('|'),
    expected_purchases_52w: alive ? decimal(expectedPurchasesIfAlive(core.lambda, core.p, 52)) : '0',
    affinity: core.affinity,
    interests: core.interests.join('|'),
    duplicate_of: core.duplicateOf === null ? '' : externalCustomerId(core.duplicateOf),
  };
}

/** Everything one customer contributes to every file, in one go (used by writeDemoFiles). */
export type CustomerRows = Record<Exclude<DemoFile, 'stores' | 'staff' | 'products'>, Row[]> & {
  orderCount: number;
};

/**
 * The generator behind both generateDemo and writeDemoFiles. `customerRows` builds all files' rows of one
 * customer; `pass` runs one file's rows over all customers with fresh id counters, so any file can be
 * produced on its own and the ids agree across files.
 */
export class DemoGenerator {
  readonly world: World;
  private readonly counts: DemoCounts;
  private spend: SpendSummary | null = null;

  constructor(options: DemoOptions) {
    this.world = createWorld(options);
    const n = this.world.customers;
    this.counts = {
      stores: STORES.length,
      staff: STAFF.length,
      products: PRODUCTS.length,
      customers: n,
      latent: n,
      orders: null,
      orderHeaders: null,
      returns: null,
      touches: null,
      interactions: null,
      preferences: null,
    };
  }

  /** A fresh per-pass state: id counters and the spend tally. */
  newPass(): PassState {
    const counters: Counters = { orders: 0, returns: 0, touches: 0, interactions: 0, preferences: 0 };
    const ids: IdMakers = {
      returns: idMaker(counters, 'returns', 'R'),
      touches: idMaker(counters, 'touches', 'T'),
      interactions: idMaker(counters, 'interactions', 'I'),
      preferences: idMaker(counters, 'preferences', 'PF'),
    };
    return { counters, ids, tally: new SpendTally() };
  }

  customerRows(index: number, state: PassState): CustomerRows {
    const { world } = this;
    const { counters, ids, tally } = state;
    const core = drawCore(world, index);
    const orders = numberedOrders(world, core, counters);
    return {
      customers: [customerRow(world, core)],
      orders: orders.flatMap((o) => orderLineRows(o, core)),
      orderCount: orders.length,
      returns: returnRows(world, core, orders, ids.returns),
      touches: touchRows(world, core, ids.touches),
      interactions: interactionRows(world, core, orders, ids.interactions),
      preferences: preferenceRows(world, core, orders, ids.preferences),
      latent: [latentRow(world, core, orders, tally)],
    };
  }

  /** Records the row counts and spend summary of a completed full pass. */
  complete(file: DemoFile | 'all', rows: Partial<DemoCounts>, state: PassState): void {
    Object.assign(this.counts, rows);
    if (file === 'all' || file === 'orders' || file === 'latent')
      this.spend = state.tally.summary(this.world.params);
  }

  *pass(file: DemoFile): Generator<Row> {
    const { world } = this;
    const state = this.newPass();
    const { counters, ids, tally } = state;
    let rows = 0;
    for (let index = 0; index < world.customers; index++) {
      const core = drawCore(world, index);
      if (file === 'customers') {
        rows++;
        yield customerRow(world, core);
        continue;
      }
      if (file === 'touches') {
        for (const row of touchRows(world, core, ids.touches)) {
          rows++;
          yield row;
        }
        continue;
      }
      const orders = numberedOrders(world, core, counters);
      let out: Row[];
      if (file === 'orders') {
        tally.add(orders);
        out = orders.flatMap((o) => orderLineRows(o, core));
      } else if (file === 'returns') out = returnRows(world, core, orders, ids.returns);
      else if (file === 'interactions') {
        out = interactionRows(world, core, orders, ids.interactions);
      } else if (file === 'preferences') {
        out = preferenceRows(world, core, orders, ids.preferences);
      } else out = [latentRow(world, core, orders, tally)];
      for (const row of out) {
        rows++;
        yield row;
      }
    }
    const done: Partial<DemoCounts> = { [file]: rows };
    if (file === 'orders') done.orderHeaders = counters.orders;
    this.complete(file, done, state);
  }

  manifest(): DemoManifest {
    const { world } = this;
    const { params } = world;
    return {
      generator: 'kizuna-demo',
      formatVersion: 1,
      seed: world.seed,
      asOf: isoTime(world.asOfMs),
      acquisitionFrom: isoTime(shopTime(world.startMs)),
      customers: world.customers,
      params: { ...params },
      truth: {
        meanLambda: params.r / params.alpha,
        meanDropoutProbability: params.a / (params.a + params.b),
        expectedRepeatPurchases52Weeks: bgnbdExpectedPurchases(52, params),
        meanTransactionValue: gammaGammaMeanSpend(params),
        touchLift: 0,
        serviceResponse: SERVICE_RESPONSE_EFFECT,
      },
      counts: { ...this.counts },
      spend: this.spend === null ? null : { ...this.spend },
    };
  }
}

/**
 * The demo as lazily generated iterables. Each call to an iterable method starts a fresh deterministic pass
 * over all customers (re-deriving every customer from (seed, index)), so files can be consumed one after
 * another in any order with memory bounded by one customer's history.
 */
export function generateDemo(options: DemoOptions): DemoData {
  const generator = new DemoGenerator(options);
  return {
    stores: () => storeRows(),
    staff: () => staffRows(),
    products: () => productRows(),
    customers: () => generator.pass('customers'),
    orders: () => generator.pass('orders'),
    returns: () => generator.pass('returns'),
    touches: () => generator.pass('touches'),
    interactions: () => generator.pass('interactions'),
    preferences: () => generator.pass('preferences'),
    latent: () => generator.pass('latent'),
    manifest: () => generator.manifest(),
  };
}
