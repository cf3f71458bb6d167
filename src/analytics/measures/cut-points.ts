import { type RawBuilder, sql } from 'kysely';
import type { Transaction } from '../../db/index.ts';
import { type CutPoints, dayNumber, inParallel, loyaltyScore, type RankKey } from './measures-sql.ts';
import type { MeasuresSettings } from './settings.ts';

/** Percentile resolution of the composite loyalty score's components. */
export const PERCENTILES = 100;

/** 1-based positions ⌈j·n/parts⌉ of the cut values, j = 1 … parts − 1 (integer arithmetic, exact). */
export function cutPositions(n: number, parts: number): number[] {
  return Array.from({ length: parts - 1 }, (_, i) => Math.floor(((i + 1) * n + parts - 1) / parts));
}

/** The values at 1-based `positions` of the ascending values given as a histogram [value, count][] (sorted). */
function fromHistogram(histogram: [number, number][], positions: number[]): number[] {
  const out: number[] = [];
  let seen = 0;
  let i = 0;
  for (const p of positions) {
    while (i < histogram.length && seen + histogram[i]![1] < p) {
      seen += histogram[i]![1];
      i++;
    }
    out.push(histogram[Math.min(i, histogram.length - 1)]![0]);
  }
  return out;
}

/** From 99 percentile cut values, the four quintile cut values c₁…c₄ (positions ⌈k·n/5⌉ = ⌈20k·n/100⌉). */
const quintiles = <T>(percentile: T[]): T[] => [19, 39, 59, 79].map((i) => percentile[i]!);

/**
 * Where a tier threshold falls in the ranking of active buyers: the loyalty score and the place among the
 * customers with that score (1 = the highest spend, then the lowest id).
 */
export type ThresholdPlace = { score: number; at: number };

/**
 * The cut points of a refresh as of `asOf` over `keyed` (keyedSelect over every customer, one row each)
 * and `histogram`, its buyers' count per key value (histogramSelect or the stored one): the percentile
 * cut values of last purchase day, first purchase day, orders and spend band over all buyers; the RFM
 * reach points (quintiles: a value scores above cut value cₖ when it is greater, so ties share a score;
 * or the configured cut points); then, from a count of active buyers per composite score (a second
 * scan), the rank keys at positions round(loyalShare · active) and round((loyalShare + semiLoyalShare) ·
 * active) (thresholdKeys, a third).
 */
export async function computeCutPoints(
  tx: Transaction,
  keyed: RawBuilder<unknown>,
  histogramSource: RawBuilder<unknown>,
  asOf: string,
  settings: MeasuresSettings,
): Promise<CutPoints> {
  const { cuts, places } = await cutPointsByScore(
    tx,
    [{ rows: keyed, sign: 1 }],
    histogramSource,
    asOf,
    settings,
  );
  return thresholdKeys(tx, cuts, places, keyed, settings);
}

/**
 * The cut points that follow from `histogramSource` alone (the buyers' count per key value): the buyers,
 * the percentile cut values and the RFM reach points — no tier thresholds yet (active 0, keys null).
 */
export async function histogramCutPoints(
  tx: Transaction,
  histogramSource: RawBuilder<unknown>,
  asOf: string,
  settings: MeasuresSettings,
): Promise<CutPoints> {
  const { rows: histogramRows } = await sql<{ kind: number; x: string; n: number }>`
    select h.kind::int as kind, h.x::text as x, h.n::int as n from (${histogramSource}) h where h.n <> 0`.execute(
    tx.db,
  );
  const histogram = (kind: number, sign = 1): [number, number][] =>
    histogramRows
      .filter((r) => r.kind === kind)
      .map((r): [number, number] => [sign * Number(r.x), r.n])
      .sort((a, b) => a[0] - b[0]);
  const lastDays = histogram(1);
  const buyers = lastDays.reduce((sum, [, n]) => sum + n, 0);
  const positions = cutPositions(buyers, PERCENTILES);
  const percentiles =
    buyers > 0
      ? {
          spend: fromHistogram(histogram(4), positions),
          tenure: fromHistogram(histogram(2, -1), positions),
          repeat: fromHistogram(histogram(3), positions),
        }
      : { spend: [], tenure: [], repeat: [] };
  const day = dayNumber(asOf);
  const { rfm } = settings;
  let reach: CutPoints['reach'];
  if (rfm) {
    const { rows } = await sql<{ m: string[] }>`
      select array[${sql.join(rfm.monetary.map((p) => sql`ceil(${String(p)}::numeric * 100)::int8::text`))}] as m`.execute(
      tx.db,
    );
    reach = {
      // recency ≤ p ⇔ last purchase day ≥ as-of day − p
      r: [...rfm.recencyDays].reverse().map((p) => day - p),
      f: rfm.frequency.map((p) => Math.ceil(p)),
      m: rows[0]!.m,
      mOn: 'cents',
    };
  } else if (buyers > 0) {
    reach = {
      r: quintiles(fromHistogram(lastDays, positions)).map((c) => c + 1),
      f: quintiles(percentiles.repeat).map((c) => c + 1),
      m: quintiles(percentiles.spend).map((c) => String(c + 1)),
      mOn: 'band',
    };
  } else {
    reach = { r: [0, 0, 0, 0], f: [0, 0, 0, 0], m: ['0', '0', '0', '0'], mOn: 'band' };
  }
  return { asOf, buyers, reach, percentiles, active: 0, loyal: null, semiLoyal: null };
}

/**
 * The cut points without the tier thresholds' tie-breaks: `cuts` with each threshold key holding only
 * its score (cents 0, customer 0 — right for every customer whose score differs), and `places`, where
 * each threshold falls. The buyers are counted per score over `parts`, signed parts that add up to every
 * customer's keyed row once: an incremental refresh gives every stored row (+1), the changed customers'
 * stored rows (−1) and their new rows (+1), so that the big part holds no temporary table and
 * PostgreSQL can count it with parallel workers.
 */
export async function cutPointsByScore(
  tx: Transaction,
  parts: { rows: RawBuilder<unknown>; sign: 1 | -1 }[],
  histogramSource: RawBuilder<unknown>,
  asOf: string,
  settings: MeasuresSettings,
): Promise<{ cuts: CutPoints; places: (ThresholdPlace | null)[] }> {
  const base = await histogramCutPoints(tx, histogramSource, asOf, settings);
  const { buyers, percentiles } = base;
  const day = dayNumber(asOf);
  if (buyers === 0) return { cuts: base, places: [null, null] };

  // The active buyers counted per composite score, best first, then the customers at the score where
  // each threshold rank falls, ordered by the tie-breaks (spend, then customer id).
  const { tiers } = settings;
  const score = loyaltyScore(settings, percentiles);
  const counted = parts.map(
    (part) => sql`
      select ${score} as score, (${part.sign} * count(*))::int8 as n
      from (${part.rows}) k
      where k.orders_count > 0 and ${day}::int - k.ld < ${tiers.lapsedDays}::int
      group by 1`,
  );
  const { rows: counts } = await inParallel(tx, () =>
    sql<{ score: number; n: number }>`
      select c.score, sum(c.n)::int as n from (${sql.join(counted, sql` union all `)}) c
      group by 1 having sum(c.n) <> 0 order by 1 desc`.execute(tx.db),
  );
  const active = counts.reduce((sum, c) => sum + c.n, 0);
  const { rows: ranks } = await sql<{ loyal: number; semi: number }>`
    select round(${tiers.loyalShare}::numeric * ${active}::int)::int as loyal,
           round((${tiers.loyalShare}::numeric + ${tiers.semiLoyalShare}::numeric) * ${active}::int)::int as semi`.execute(
    tx.db,
  );
  // Where each threshold rank falls: its score and its place among the customers with that score.
  const place = (rank: number): ThresholdPlace | null => {
    let above = 0;
    for (const c of counts) {
      if (rank >= 1 && above + c.n >= rank) return { score: c.score, at: rank - above };
      above += c.n;
    }
    return null;
  };
  const places = [place(ranks[0]!.loyal), place(ranks[0]!.semi)];
  const scoreOnly = (p: ThresholdPlace | null): RankKey | null =>
    p && { score: p.score, cents: '0', customerId: 0 };
  return {
    cuts: { ...base, active, loyal: scoreOnly(places[0]!), semiLoyal: scoreOnly(places[1]!) },
    places,
  };
}

/**
 * `cuts` with the threshold keys at `places` read off `keyed` (keyedSelect rows): among its active
 * buyers with a threshold's score, the one at its place when ordered by spend (descending), then id.
 * `keyed` must hold every active buyer with those scores; other rows do not matter.
 */
export async function thresholdKeys(
  tx: Transaction,
  cuts: CutPoints,
  places: (ThresholdPlace | null)[],
  keyed: RawBuilder<unknown>,
  settings: MeasuresSettings,
): Promise<CutPoints> {
  const day = dayNumber(cuts.asOf);
  const { tiers } = settings;
  const score = loyaltyScore(settings, cuts.percentiles);
  const wanted = places.filter((p) => p !== null);
  const { rows: keys } = wanted.length
    ? await inParallel(tx, () =>
        sql<{ score: number; at: number; cents: string; customer_id: number }>`
        select s.score, s.at::int as at, s.cents::text as cents, s.customer_id::int8 as customer_id from (
          select ${score} as score, k.cents, k.customer_id,
                 row_number() over (partition by ${score} order by k.cents desc, k.customer_id) as at
          from (${keyed}) k
          where k.orders_count > 0 and ${day}::int - k.ld < ${tiers.lapsedDays}::int
            and ${score} in (${sql.join(wanted.map((p) => sql`${p.score}::float8`))})
        ) s
        where ${sql.join(
          wanted.map((p) => sql`(s.score = ${p.score}::float8 and s.at = ${p.at})`),
          sql` or `,
        )}`.execute(tx.db),
      )
    : { rows: [] };
  const keyAt = (p: ThresholdPlace | null): RankKey | null => {
    const row = p && keys.find((k) => k.score === p.score && k.at === p.at);
    return row ? { score: row.score, cents: row.cents, customerId: Number(row.customer_id) } : null;
  };
  return { ...cuts, loyal: keyAt(places[0]!), semiLoyal: keyAt(places[1]!) };
}

/** The first day of the month of `asOf` ('YYYY-MM-DD'): the month whose cut points a refresh uses. */
export const monthOf = (asOf: string): string => `${asOf.slice(0, 7)}-01`;

/**
 * The month's cut points, fixed by its first refresh or snapshot (measures_cut_points, migration 023),
 * or null when none were kept for these settings — or they were taken when there was no buyer yet, and
 * fix nothing.
 */
export async function monthCutPoints(
  tx: Transaction,
  asOf: string,
  settings: MeasuresSettings,
): Promise<CutPoints | null> {
  const { rows } = await sql<{ cut_points: CutPoints }>`
    select cut_points from measures_cut_points
    where month = ${monthOf(asOf)}::date and settings = ${JSON.stringify(settings)}`.execute(tx.db);
  const cuts = rows[0]?.cut_points;
  return cuts && cuts.buyers > 0 ? cuts : null;
}

/** Keeps `cuts` as their month's cut points for these settings (replacing earlier ones: a recut). */
export async function keepMonthCutPoints(
  tx: Transaction,
  cuts: CutPoints,
  settings: MeasuresSettings,
): Promise<void> {
  await sql`
    insert into measures_cut_points (month, settings, as_of, cut_points)
    values (${monthOf(cuts.asOf)}::date, ${JSON.stringify(settings)}, ${cuts.asOf}::date, ${JSON.stringify(cuts)}::jsonb)
    on conflict (month, settings) do update
      set as_of = excluded.as_of, cut_points = excluded.cut_points, computed_at = now()`.execute(tx.db);
}

/**
 * The month's fixed cut points on `asOf`: F and M reach points, percentile cut values and tier thresholds
 * as fixed; the buyers and the recency points (which follow the as-of day) from today's histogram.
 */
export async function onDay(
  tx: Transaction,
  fixed: CutPoints,
  histogramSource: RawBuilder<unknown>,
  asOf: string,
  settings: MeasuresSettings,
): Promise<CutPoints> {
  const today = await histogramCutPoints(tx, histogramSource, asOf, settings);
  return { ...fixed, asOf, buyers: today.buyers, reach: { ...fixed.reach, r: today.reach.r } };
}

/**
 * The cut points of a pass over every customer's keyed row (`keyed`, with `histogram` its count per key
 * value): the month's on `asOf` when they are fixed (`month`), else computed (computeCutPoints).
 */
export function cutPointsOf(
  tx: Transaction,
  month: CutPoints | null,
  keyed: RawBuilder<unknown>,
  histogram: RawBuilder<unknown>,
  asOf: string,
  settings: MeasuresSettings,
): Promise<CutPoints> {
  return month
    ? onDay(tx, month, histogram, asOf, settings)
    : computeCutPoints(tx, keyed, histogram, asOf, settings);
}

/** Whether two refreshes scored F, M and tiers with the same cut points (the recency points aside). */
export function sameFixedCuts(a: CutPoints, b: CutPoints): boolean {
  const fixed = (c: CutPoints) =>
    JSON.stringify([
      c.reach.f,
      c.reach.m,
      c.reach.mOn,
      c.percentiles.spend,
      c.percentiles.tenure,
      c.percentiles.repeat,
      ...[c.loyal, c.semiLoyal].map((k) => k && [k.score, k.cents, k.customerId]),
    ]);
  return fixed(a) === fixed(b);
}
