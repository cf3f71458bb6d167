import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.ts';
import type { Database } from '../../src/db/index.ts';
import { loadCustomers } from '../campaigns-fixture.ts';
import { tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 6 (SCENARIOS.md): a store manager exports a call list for loyal customers → each row carries
 * the customer's context and a follow-up purpose; a call logged as "sales" is refused by the policy.
 *
 * Aiko (loyal, phone consent) bought a kettle and has an open complaint about it, and a note; Ben (loyal,
 * phone consent) has nothing open; Chie (loyal) never agreed to calls; Daichi (regular) is not loyal.
 */
describe('scenario 6: never a sales call', () => {
  let database: Database;
  let app: ReturnType<typeof buildServer>;
  let headers: Record<string, string>;

  beforeAll(async () => {
    database = await openTestDatabase();
    app = buildServer(database);
    await loadCustomers(database, [
      { id: 1, name: 'Aiko', tier: 'loyal', consents: { phone: true }, phone: '090-1111-2222' },
      { id: 2, name: 'Ben', tier: 'loyal', consents: { phone: true }, phone: '090-3333-4444' },
      { id: 3, name: 'Chie', tier: 'loyal', consents: { phone: false } },
      { id: 4, name: 'Daichi', tier: 'regular', consents: { phone: true } },
    ]);
    const db = database.db;
    await db
      .insertInto('products')
      .values({ id: 1, sku: 'K1', name: 'Kettle', category: 'kitchen', price: 8000 })
      .execute();
    await db
      .insertInto('orders')
      .values({
        customer_id: 1,
        id: 1,
        external_id: 'o1',
        ordered_at: new Date('2026-10-01T10:00:00Z'),
        total: 8000,
      })
      .execute();
    await db
      .insertInto('order_lines')
      .values({
        customer_id: 1,
        order_id: 1,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: 8000,
        amount: 8000,
      })
      .execute();
    await db
      .insertInto('interactions')
      .values({
        customer_id: 1,
        kind: 'complaint',
        channel: 'store',
        status: 'open',
        subject: 'kettle lid squeaks',
        opened_at: new Date('2026-10-20T10:00:00Z'),
      })
      .execute();
    await db.insertInto('preferences').values({ customer_id: 1, note: 'call after 6 pm' }).execute();
    headers = await tokenHeaders(database, 'manager');
    const segment = await app.inject({
      method: 'POST',
      url: '/api/segments',
      headers,
      payload: { name: 'loyal customers', rules: { kind: 'tier', tiers: ['loyal'] } },
    });
    expect(segment.statusCode, segment.body).toBe(201);
  });

  afterAll(async () => {
    await app.close();
    await database.close();
  });

  it('exports a follow-up call list with each customer’s context, and refuses a sales call', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name: 'autumn follow-up calls',
        channel: 'phone',
        audience: { segment: 'loyal customers' },
        script:
          'Hello {{ customer.name }}, how is everything since your last visit on {{ last_purchase.date }}?',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ purpose: 'follow_up', costPerTouch: '400.00' });
    const id = created.json().id as number;

    const preview = (
      await app.inject({ method: 'POST', url: `/api/campaigns/${id}/preview`, headers })
    ).json();
    expect(preview).toMatchObject({
      recipients: 3,
      reach: { phone: 2 },
      excluded: { 'no_consent:phone': 1 },
      totalCost: '800.00',
    });

    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.json()).toMatchObject({ sent: 2, suppressed: 1 });

    const list = await app.inject({ method: 'GET', url: `/api/campaigns/${id}/call-list`, headers });
    expect(list.statusCode, list.body).toBe(200);
    const calls = list.json().calls;
    expect(calls.map((c: { customerId: number }) => c.customerId)).toEqual([1, 2]);
    expect(calls[0]).toEqual({
      customerId: 1,
      name: 'Aiko',
      phone: '090-1111-2222',
      purpose: 'follow_up',
      tier: 'loyal',
      lastPurchaseAt: '2026-10-01T10:00:00.000Z',
      favouriteCategories: ['kitchen'],
      openIssues: ['complaint: kettle lid squeaks (open)'],
      followUps: [expect.stringContaining('kettle lid squeaks')],
      preferenceNotes: ['call after 6 pm'],
      script: 'Hello Aiko, how is everything since your last visit on 2026-10-01?',
    });
    expect(calls[1]).toMatchObject({
      customerId: 2,
      purpose: 'follow_up',
      openIssues: [],
      preferenceNotes: [],
    });

    const csv = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${id}/call-list?format=csv`,
      headers,
    });
    expect(csv.body.split('\n')[0]).toBe(
      'customer_id,name,phone,purpose,tier,last_purchase_at,favourite_categories,open_issues,follow_ups,preference_notes,script',
    );
    expect(csv.body.split('\n')[1]).toMatch(/^1,Aiko,090-1111-2222,follow_up,loyal,/);

    const sales = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers,
      payload: {
        customerId: 2,
        campaignId: id,
        outcome: 'answered',
        purpose: 'sales',
        note: 'offered the new range',
      },
    });
    expect(sales.statusCode).toBe(422);
    expect(sales.json().error).toMatchObject({ code: 'sales_call_refused', field: 'purpose' });
    const logged = async () =>
      database.db
        .selectFrom('interactions')
        .select(['customer_id', 'subject', 'body'])
        .where('kind', '=', 'call')
        .execute();
    expect(await logged()).toEqual([]);

    const followUp = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers,
      payload: { customerId: 1, campaignId: id, outcome: 'answered', note: 'lid replaced, happy now' },
    });
    expect(followUp.statusCode, followUp.body).toBe(201);
    expect(await logged()).toEqual([
      {
        customer_id: 1,
        subject: 'autumn follow-up calls: follow-up call — answered',
        body: 'lid replaced, happy now',
      },
    ]);
    const touch = await database.db
      .selectFrom('touches')
      .select(['channel', 'cost', 'delivered_at'])
      .where('campaign_id', '=', id)
      .where('customer_id', '=', 1)
      .executeTakeFirstOrThrow();
    expect(touch.channel).toBe('phone');
    expect(touch.cost).toBe('400.00');
    expect(touch.delivered_at).toBeInstanceOf(Date);
  });

  it('a phone campaign for sales reaches nobody: the policy refuses every call', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name: 'upsell calls',
        channel: 'phone',
        purpose: 'sales',
        audience: { segment: 'loyal customers' },
      },
    });
    const id = created.json().id as number;
    const preview = (
      await app.inject({ method: 'POST', url: `/api/campaigns/${id}/preview`, headers })
    ).json();
    expect(preview).toMatchObject({ reach: {}, excluded: { sales_call_refused: 3 }, totalCost: '0.00' });
    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.json()).toMatchObject({ sent: 0, suppressed: 3 });
  });
});
