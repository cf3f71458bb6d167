/**
 * The segment benchmark's shop beyond orders: touches, complaints, consents, preference notes and lifetime
 * values, plus the 10-condition tree and the templates' parameters (shared by bench/segments.ts and ad-hoc
 * measurements on a kept 1 M database).
 */
import { sql } from 'kysely';
import type { Database } from '../src/db/index.ts';
import { parseRules, type RuleNode } from '../src/segments/index.ts';
import { SIMULATION_END } from './harness.ts';

export const AS_OF = new Date(`${SIMULATION_END}T23:59:59.999Z`);

/** Touches, complaints, consents, notes and lifetime values for a share of the customers, in SQL. */
export async function loadContacts(database: Database): Promise<void> {
  const db = database.db;
  const end = sql`${AS_OF}::timestamptz`;
  await sql`insert into touches (customer_id, channel, campaign, variant, sent_at, clicked_at)
    select id, 'email', 'spring', case when id % 2 = 0 then 'A' else 'B' end,
           ${end} - (id % 90) * interval '1 day', case when id % 7 = 0 then ${end} - (id % 90) * interval '1 day' + interval '1 hour' end
    from customers where id % 3 = 0`.execute(db);
  await sql`insert into touches (customer_id, channel, campaign, sent_at)
    select id, 'newsletter', 'news ' || (id % 12), ${end} - (id % 365) * interval '1 day' from customers`.execute(
    db,
  );
  await sql`insert into interactions (customer_id, kind, channel, status, opened_at)
    select id, case when id % 3 = 0 then 'inquiry' else 'complaint' end, 'phone',
           case when id % 100 = 0 then 'open' else 'closed' end, ${end} - (id % 200) * interval '1 day'
    from customers where id % 50 = 0`.execute(db);
  await sql`insert into consents (customer_id, channel, granted, recorded_at, source)
    select id, 'email', id % 5 <> 0, ${end} - (id % 700) * interval '1 day', 'bench' from customers where id % 2 = 0`.execute(
    db,
  );
  await sql`insert into preferences (customer_id, key, value, noted_at)
    select id, 'author', case when id % 80 = 0 then 'Murakami' else 'Yoshimoto' end, ${end} - interval '10 days'
    from customers where id % 40 = 0`.execute(db);
  await sql`insert into clv_models (id, purchase_model, time_unit, calibration_end, customers, purchase_params, purchase_report)
    values (1, 'bgnbd', 'days', ${SIMULATION_END}, 0, '{}', '{}')`.execute(db);
  await sql`insert into customer_clv (customer_id, model_id, frequency, recency, age, probability_alive, expected_purchases_next_year, clv)
    select id, 1, 0, 0, 0, ((id * 7919) % 1000) / 1000.0, 1, (id % 500) * 100 from customers`.execute(db);
  // Not customer_measures: analysed while still empty, it would tell the planner of the measures refresh
  // that the table it is filling stays empty (measured: the 100 k refresh took 150 s instead of 5 s).
  await sql`analyze customers, orders, order_lines, products, touches, interactions, consents, preferences, customer_clv`.execute(
    db,
  );
}

export const TEN_CONDITIONS: RuleNode = parseRules({
  op: 'and',
  children: [
    { kind: 'purchased', categories: ['category 0'], withinDays: 365 },
    { op: 'not', child: { kind: 'purchased', categories: ['category 1'] } },
    { kind: 'last_purchase', withinDays: 180 },
    { kind: 'tier', tiers: ['loyal', 'semi_loyal', 'regular'] },
    { kind: 'measure', measure: 'total_spend', min: 5000 },
    { kind: 'measure', measure: 'probability_alive', min: 0.3 },
    { kind: 'consent', channel: 'email' },
    { op: 'not', child: { kind: 'interaction', kinds: ['complaint'], unresolved: true } },
    {
      op: 'or',
      children: [
        { kind: 'touch', campaign: 'spring', clicked: true },
        { kind: 'preference', key: 'author', value: 'murakami' },
      ],
    },
    { op: 'not', child: { kind: 'do_not_contact' } },
  ],
});

export const PARAMS: Record<string, Record<string, unknown>> = {
  'bought-a-not-b': { a: 'category:category 0', b: 'category:category 1' },
  'bought-b-not-a': { a: 'category:category 0', b: 'category:category 1' },
  'bought-both': { a: 'category:category 0', b: 'category:category 1' },
};
