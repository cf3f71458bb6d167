/**
 * The demo retailer: a seeded, streaming generator of a realistic shop's data whose behaviour follows known
 * statistical models, so that analytics and CLV code can be tested against the truth (ARCHITECTURE.md:
 * "every analytic figure has a test against … simulated data with known parameters").
 *
 * The shop: 5 stores (S01 渋谷 … S05 京都, Asia/Tokyo), 15 staff, 200 products in 12 categories, including
 * the repeat drivers contact_lenses (cycle 90 days) and glasses (730 days), and the coffees P-A and P-B of
 * the "bought A only / B only / both" story. The catalogue is the same for every seed (catalog.ts).
 *
 * Generative process per customer i (0-based; external id C0000001 for i = 0), every draw from streams
 * seeded by (seed, i, stage), so any file can be regenerated alone and a customer never depends on another:
 * 1. Acquisition: stratified uniform over the `years` before asOf (customer i in the i-th of N equal
 *    slots), so customers.csv is in acquisition order; created_at is the acquisition time and the time of
 *    the first order. Profile: home store, interests (1–3 categories, plus glasses / contact lenses / the
 *    coffee of an A/B affinity by their shares), contact points, consents, acquisition source (a referral
 *    names an earlier customer), account owner, and ~0.5 % planted duplicates of an earlier identity.
 * 2. Purchases, BG/NBD (Fader, Hardie & Lee 2005, Marketing Science 24(2), §3 assumptions i–v): λ ~
 *    Gamma(r, α) per week, p ~ Beta(a, b); the first purchase is at acquisition; gaps are Exponential(λ);
 *    after each repeat purchase the customer drops out with probability p. Time unit: weeks.
 * 3. Spend, Gamma-Gamma (FHL 2005, JMR 42(4), §4; Colombo & Jiang 1999): ν ~ Gamma(q, γ); each BG/NBD order
 *    has a drawn value z ~ Gamma(p, ν) yen, turned into 1–4 product lines whose total is close to z
 *    (orders.ts, composeOrder, documents the rounding).
 * 4. Replacement cycles: contact-lens wearers also re-order lenses every ≈ lensCycleDays (90), glasses
 *    wearers buy a new frame every ≈ glassesCycleDays (730), until their BG/NBD dropout; these orders are
 *    extra and listed per customer in latent.cycle_order_ids, so BG/NBD stays testable on its own.
 * 5. Returns (≈ returnShare of lines), touches (campaign calendar + welcome/birthday flows, consent-aware,
 *    with NO causal effect on purchases: the true lift is 0), interactions (Japanese subjects and bodies,
 *    status by the clock), preference notes (written at a store by its staff, or inferred, or declared).
 * Clocks: the models run in continuous model time (weeks); timestamps in the files are on the shop clock,
 * which squeezes each JST day into the 10:00–20:00 opening hours of the same day (world.ts, shopTime). It
 * is strictly increasing and shifts whole days exactly, so counts in whole-day windows after an order are
 * those of the model, and the latent file's weeks are model time.
 * Every timestamp lies in [created_at, asOf]; nothing happens after asOf.
 *
 * Files (every value a string, '' for empty; columns in DEMO_COLUMNS): stores, staff, products, customers,
 * orders (one row per line), returns, touches, interactions, preferences, latent (the per-customer truth:
 * λ, p, ν, dropout, (x, t_x, T), drawn and realised spend, cycle orders, expected purchases in the next
 * 52 weeks; see latentRow in generate.ts), and manifest.json (seed, asOf, parameters, population truths
 * such as E[λ], E[X(52)] and E[z], row counts, and the drawn vs realised spend means). In generateDemo the
 * manifest's counts of the per-customer files and its spend summary are null until the corresponding
 * iterable has been consumed to the end; writeDemoFiles fills all of them.
 *
 * Scale: customers are generated one at a time and written as they come; 1,000,000 customers need memory
 * for one customer's history only.
 */
export { DEMO_COLUMNS, DEMO_FILES, type DemoFile, type Row } from './columns.ts';
export { csvField, csvLine, writeCsvFile } from './csv.ts';
export {
  type DemoCounts,
  type DemoData,
  type DemoManifest,
  generateDemo,
  type SpendSummary,
} from './generate.ts';
export { DEFAULT_AS_OF, DEFAULT_PARAMS, type DemoOptions, type DemoParams, resolveParams } from './params.ts';
export { Rng } from './random.ts';
export {
  bgnbdExpectedPurchases,
  bgnbdProbabilityAlive,
  expectedPurchasesIfAlive,
  gammaGammaMeanSpend,
  hyp2f1Series,
} from './truth.ts';
export { type DemoProgress, writeDemoFiles } from './write.ts';
