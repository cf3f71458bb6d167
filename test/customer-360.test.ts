import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import { CLI_ACTOR } from '../src/auth/index.ts';
import { addPreferenceNote, customer360 } from '../src/customers/index.ts';
import type { Database } from '../src/db/index.ts';
import { signInAs, tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

let database: Database;
let app: FastifyInstance;

/**
 * Stores A, B, C. Customer 1 is the well-known customer (three orders, a return, interactions of every
 * status, measures and a lifetime value); customer 2 is a customer of store A only, for the notebook.
 */
beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: 1, code: 'A', name: '渋谷店' },
      { id: 2, code: 'B', name: '梅田店' },
      { id: 3, code: 'C', name: '札幌店' },
    ])
    .execute();
  await db
    .insertInto('products')
    .values([
      { id: 1, sku: 'LENS', name: 'Lenses', category: 'contact_lenses', price: '4800.00' },
      { id: 2, sku: 'BOOK', name: 'Book', category: 'books', price: '1980.00' },
      { id: 3, sku: 'GLS', name: 'Frames', category: 'glasses', price: '24000.00' },
      { id: 4, sku: 'CARE', name: 'Lens care', category: 'care', price: '1000.00' },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      { id: 1, external_id: 'C-1', name: '佐藤 花子', email: 'hanako@example.jp', home_store_id: 1 },
      { id: 2, external_id: 'C-2', name: '鈴木 一郎', home_store_id: 1 },
    ])
    .execute();
  await db
    .insertInto('consents')
    .values([
      {
        customer_id: 1,
        channel: 'email',
        granted: true,
        recorded_at: '2024-01-01T00:00:00Z',
        source: 'form',
      },
      {
        customer_id: 1,
        channel: 'email',
        granted: false,
        recorded_at: '2024-05-01T00:00:00Z',
        source: 'call',
      },
    ])
    .execute();
  const order = (id: number, store: number, at: string, total: string) => ({
    customer_id: 1,
    id,
    external_id: `O${id}`,
    store_id: store,
    ordered_at: at,
    total,
  });
  await db
    .insertInto('orders')
    .values([
      order(11, 1, '2024-01-10T01:00:00Z', '11580.00'),
      order(12, 2, '2024-03-01T01:00:00Z', '24000.00'),
      order(13, 1, '2024-06-01T01:00:00Z', '6800.00'),
    ])
    .execute();
  const line = (order_id: number, line_no: number, product_id: number, quantity: number, price: number) => ({
    customer_id: 1,
    order_id,
    line_no,
    product_id,
    quantity,
    unit_price: price,
    amount: quantity * price,
  });
  await db
    .insertInto('order_lines')
    .values([
      line(11, 1, 1, 2, 4800),
      line(11, 2, 2, 1, 1980),
      line(12, 1, 3, 1, 24000),
      line(13, 1, 1, 1, 4800),
      line(13, 2, 4, 2, 1000),
    ])
    .execute();
  await db
    .insertInto('returns')
    .values({
      customer_id: 1,
      external_id: 'R1',
      order_id: 11,
      product_id: 2,
      quantity: 1,
      amount: '1980.00',
      returned_at: '2024-01-20T01:00:00Z',
    })
    .execute();
  const interaction = (
    id: number,
    kind: 'complaint' | 'request' | 'inquiry',
    status: 'open' | 'waiting' | 'resolved' | 'closed',
    subject: string,
    body: string,
    opened: Date,
    resolved: Date | null,
    store = 1,
  ) => ({
    customer_id: 1,
    id,
    kind,
    channel: 'store' as const,
    status,
    subject,
    body,
    store_id: store,
    opened_at: opened,
    resolved_at: resolved,
  });
  await db
    .insertInto('interactions')
    .values([
      interaction(
        21,
        'complaint',
        'resolved',
        '靴がきしむ',
        'The right shoe squeaks',
        daysAgo(14),
        daysAgo(10),
      ),
      interaction(
        22,
        'complaint',
        'resolved',
        'Late delivery',
        'It came a week late',
        daysAgo(240),
        daysAgo(200),
      ),
      interaction(23, 'request', 'open', 'Blue frames', 'Please order blue frames', daysAgo(5), null, 2),
      interaction(24, 'inquiry', 'waiting', 'Opening hours', 'When do you open?', daysAgo(3), null),
      interaction(25, 'complaint', 'open', 'Lens case', 'The lens case cracked', daysAgo(2), null),
    ])
    .execute();
  await db
    .insertInto('customer_measures')
    .values({
      customer_id: 1,
      as_of: '2024-06-30',
      first_purchase_at: new Date('2024-01-10T01:00:00Z'),
      last_purchase_at: new Date('2024-06-01T01:00:00Z'),
      orders_count: 3,
      purchase_days: 3,
      tenure_days: 172,
      total_spend: '42380.00',
      average_order_value: '14126.67',
      gross_margin: '20000.00',
      returns_amount: '1980.00',
      recency_days: 29,
      f_score: 4,
      m_score: 5,
      tier: 'loyal',
    })
    .execute();
  // The recency score is the view's, from the last refresh's recency points: the last purchase
  // (2024-06-01) reaches all four (the first days of February … May), so R = 5 and the cell is 545.
  await db
    .insertInto('measures_refreshes')
    .values({
      as_of: '2024-06-30',
      mode: 'full',
      settings: '{}',
      customers: 1,
      recomputed: 1,
      seconds: 0.1,
      steps: JSON.stringify([]),
      recency_points: ['2024-02-01', '2024-03-01', '2024-04-01', '2024-05-01'].map(
        (day) => Date.parse(`${day}T00:00:00Z`) / 86_400_000,
      ),
    })
    .execute();
  const model = await db
    .insertInto('clv_models')
    .values({
      purchase_model: 'bgnbd',
      time_unit: 'days',
      calibration_end: '2024-06-30',
      customers: 2,
      purchase_params: {},
      purchase_report: {},
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('customer_clv')
    .values({
      customer_id: 1,
      model_id: model.id,
      frequency: 2,
      recency: 143,
      age: 172,
      probability_alive: 0.9,
      expected_purchases_next_year: 2.5,
      expected_spend: '14000.00',
      clv: '31000.00',
    })
    .execute();
  app = buildServer(database);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

type Note = {
  id: number;
  key: string | null;
  value: string | null;
  note: string | null;
  author: { id: number; name: string } | null;
  store: { code: string } | null;
  noted_at: string;
  obsolete: boolean;
  obsoleted_by: { id: number } | null;
  obsolete_reason: string | null;
};

describe('the preference notebook across stores (scenario 1)', () => {
  let noteId: number;
  let staffB: { headers: Record<string, string>; staffId: number };

  it('a note written at store A is read at store B, with author, store and date; store C is refused', async () => {
    const staffA = await signInAs(app, database, 'store_staff', { storeIds: [1] });
    const written = await app.inject({
      method: 'POST',
      url: '/api/customers/2/preferences',
      headers: staffA.headers,
      payload: { key: ' Wine ', value: ' with ice ' },
    });
    expect(written.statusCode).toBe(201);
    noteId = written.json().note.id;
    expect(written.json().note).toMatchObject({ key: 'wine', value: 'with ice', store: { code: 'A' } });

    staffB = await signInAs(app, database, 'store_staff', { storeIds: [2] });
    // Not yet a customer of store B.
    const before = await app.inject({ method: 'GET', url: '/api/customers/2/360', headers: staffB.headers });
    expect(before.statusCode).toBe(403);

    await database.db
      .insertInto('orders')
      .values({
        customer_id: 2,
        id: 31,
        external_id: 'O31',
        store_id: 2,
        ordered_at: new Date(),
        total: '500.00',
      })
      .execute();
    const seen = await app.inject({ method: 'GET', url: '/api/customers/2/360', headers: staffB.headers });
    expect(seen.statusCode).toBe(200);
    const notes: Note[] = seen.json().preference_notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      key: 'wine',
      value: 'with ice',
      author: { id: staffA.staffId, name: 'Test store_staff' },
      store: { code: 'A', name: '渋谷店' },
      obsolete: false,
    });
    expect(Date.now() - Date.parse(notes[0]!.noted_at)).toBeLessThan(60_000);

    const staffC = await signInAs(app, database, 'store_staff', { storeIds: [3] });
    const refused = await app.inject({ method: 'GET', url: '/api/customers/2/360', headers: staffC.headers });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('customer_out_of_scope');
    const refusedNote = await app.inject({
      method: 'POST',
      url: '/api/customers/2/preferences',
      headers: staffC.headers,
      payload: { note: 'should not be written' },
    });
    expect(refusedNote.statusCode).toBe(403);
  });

  it('writes at a named store only when it is one of the writer’s stores; integrations write without an author', async () => {
    const staffA = await signInAs(app, database, 'store_staff', { storeIds: [1] });
    const elsewhere = await app.inject({
      method: 'POST',
      url: '/api/customers/2/preferences',
      headers: staffA.headers,
      payload: { note: 'size 26.5', storeId: 2 },
    });
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json().error.field).toBe('storeId');
    const pos = await tokenHeaders(database, 'store_staff', { storeIds: [2] });
    const byToken = await app.inject({
      method: 'POST',
      url: '/api/customers/2/preferences',
      headers: pos,
      payload: { note: '  Prefers the window seat  ' },
    });
    expect(byToken.statusCode).toBe(201);
    expect(byToken.json().note).toMatchObject({
      note: 'Prefers the window seat',
      author: null,
      store: { code: 'B' },
      source: 'staff',
    });
    await app.inject({
      method: 'POST',
      url: `/api/customers/2/preferences/${byToken.json().note.id}/obsolete`,
      headers: pos,
      payload: { reason: 'written by a test' },
    });
  });

  it('refuses invalid notes with the field named', async () => {
    const staff = await tokenHeaders(database, 'service_agent');
    const cases: [unknown, string][] = [
      [{}, 'note'],
      [{ key: 'wine' }, 'value'],
      [{ value: 'red' }, 'key'],
      [{ note: '   ' }, 'note'],
      [{ note: 'x'.repeat(2001) }, 'note'],
      [{ key: 'k'.repeat(101), value: 'v' }, 'key'],
    ];
    for (const [payload, field] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/customers/2/preferences',
        headers: staff,
        payload: payload as Record<string, unknown>,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.field).toBe(field);
    }
    const marketer = await tokenHeaders(database, 'marketer');
    const denied = await app.inject({
      method: 'POST',
      url: '/api/customers/2/preferences',
      headers: marketer,
      payload: { note: 'marketers do not write notes' },
    });
    expect(denied.statusCode).toBe(403);
  });

  it('marks a note obsolete: gone from the 360, kept in the list and the export, nothing deleted', async () => {
    const rowsBefore = await database.db.selectFrom('preferences').select('id').execute();
    const marked = await app.inject({
      method: 'POST',
      url: `/api/customers/2/preferences/${noteId}/obsolete`,
      headers: staffB.headers,
      payload: { reason: 'Stopped drinking wine' },
    });
    expect(marked.statusCode).toBe(200);
    expect(marked.json().note).toMatchObject({
      obsolete: true,
      obsoleted_by: { id: staffB.staffId },
      obsolete_reason: 'Stopped drinking wine',
    });
    const again = await app.inject({
      method: 'POST',
      url: `/api/customers/2/preferences/${noteId}/obsolete`,
      headers: staffB.headers,
      payload: {},
    });
    expect(again.statusCode).toBe(409);
    const missing = await app.inject({
      method: 'POST',
      url: `/api/customers/1/preferences/${noteId}/obsolete`,
      headers: await tokenHeaders(database, 'manager'),
      payload: {},
    });
    expect(missing.statusCode).toBe(404);

    const view = await app.inject({ method: 'GET', url: '/api/customers/2/360', headers: staffB.headers });
    expect(view.json().preference_notes).toEqual([]);
    const current = await app.inject({
      method: 'GET',
      url: '/api/customers/2/preferences',
      headers: staffB.headers,
    });
    expect(current.json().notes).toEqual([]);
    const all = await app.inject({
      method: 'GET',
      url: '/api/customers/2/preferences?includeObsolete=true',
      headers: staffB.headers,
    });
    expect(all.json().notes.map((n: Note) => [n.id, n.obsolete])).toContainEqual([noteId, true]);

    const exported = await app.inject({
      method: 'GET',
      url: '/api/customers/2/export',
      headers: await tokenHeaders(database, 'owner'),
    });
    expect(exported.statusCode).toBe(200);
    const exportedNote = exported.json().preferences.find((p: { id: number }) => p.id === noteId);
    expect(exportedNote).toMatchObject({ key: 'wine', obsolete_reason: 'Stopped drinking wine' });
    expect(exportedNote.obsolete_at).not.toBeNull();

    const rowsAfter = await database.db.selectFrom('preferences').select('id').execute();
    expect(rowsAfter).toHaveLength(rowsBefore.length);
  });
});

describe('the customer 360', () => {
  it('summarises purchases, measures and lifetime value as computed by hand', async () => {
    const manager = await tokenHeaders(database, 'manager');
    const response = await app.inject({ method: 'GET', url: '/api/customers/C-1/360', headers: manager });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.customer).toMatchObject({ id: 1, name: '佐藤 花子', erased: false });
    // The latest consent per channel is the one in force.
    expect(body.customer.consents).toEqual([
      { channel: 'email', granted: false, recorded_at: '2024-05-01T00:00:00.000Z', source: 'call' },
    ]);
    // 11580 + 24000 + 6800 = 42380; lines: glasses 24000, lenses 9600 + 4800 = 14400, care 2000, books 1980.
    expect(body.purchases).toEqual({
      first_purchase_at: '2024-01-10T01:00:00.000Z',
      last_purchase_at: '2024-06-01T01:00:00.000Z',
      orders_count: 3,
      total_spend: '42380.00',
      returns_amount: '1980.00',
      favourite_categories: [
        { category: 'glasses', spend: '24000.00', share: 0.5663 },
        { category: 'contact_lenses', spend: '14400.00', share: 0.3398 },
        { category: 'care', spend: '2000.00', share: 0.0472 },
      ],
    });
    expect(body.measures).toMatchObject({
      computed: true,
      as_of: '2024-06-30',
      tier: 'loyal',
      rfm_cell: '545',
      rfm_group: 'champions',
      total_spend: '42380.00',
      gross_margin: '20000.00',
      recency_days: 29,
      orders_count: 3,
    });
    expect(body.lifetime_value).toMatchObject({
      clv: '31000.00',
      expected_purchases_next_year: 2.5,
      probability_alive: 0.9,
      model: { purchase_model: 'bgnbd', calibration_end: '2024-06-30' },
    });
    expect(body.timeline.events.length).toBe(3 + 1 + 5);
    expect(body.timeline.has_more).toBe(false);
  });

  it('has null placeholders for a customer without measures or a lifetime value', async () => {
    const view = await customer360(database, CLI_ACTOR, 2);
    expect(view.measures).toMatchObject({ computed: false, tier: null, rfm_cell: null, total_spend: null });
    expect(view.lifetime_value).toBeNull();
    expect(view.follow_ups).toEqual([]);
  });

  it('lists open interactions and follow-up prompts for unresolved and recently resolved complaints and requests', async () => {
    const view = await customer360(database, CLI_ACTOR, 1);
    expect(view.open_interactions.map((i) => [i.id, i.status])).toEqual([
      [25, 'open'],
      [24, 'waiting'],
      [23, 'open'],
    ]);
    expect(view.follow_ups.map((f) => f.interaction_id)).toEqual([25, 23, 21]);
    const resolved = view.follow_ups.find((f) => f.interaction_id === 21)!;
    expect(resolved).toMatchObject({
      interaction_kind: 'complaint',
      subject: '靴がきしむ',
      status: 'resolved',
      store: { code: 'A' },
    });
    expect(resolved.prompt).toMatch(
      /^Last time \(\d{4}-\d\d-\d\d\) you had 「靴がきしむ」 — how is it now\?$/,
    );
    expect(view.follow_ups.find((f) => f.interaction_id === 23)).toMatchObject({
      interaction_kind: 'request',
      status: 'open',
      store: { code: 'B' },
    });
  });

  it('pages the timeline with limit, before and kinds', async () => {
    const headers = await tokenHeaders(database, 'manager');
    const page = await app.inject({
      method: 'GET',
      url: '/api/customers/1/360?limit=2&kinds=order',
      headers,
    });
    expect(page.json().timeline.events.map((e: { id: number }) => e.id)).toEqual([13, 12]);
    expect(page.json().timeline.has_more).toBe(true);
    const older = await app.inject({
      method: 'GET',
      url: '/api/customers/1/360?kinds=order&before=2024-03-01T01:00:00Z',
      headers,
    });
    expect(older.json().timeline.events.map((e: { id: number }) => e.id)).toEqual([11]);
    const bad = await app.inject({ method: 'GET', url: '/api/customers/1/360?kinds=gossip', headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('kinds');
    const missing = await app.inject({ method: 'GET', url: '/api/customers/999/360', headers });
    expect(missing.statusCode).toBe(404);
  });

  it("hides complaint bodies from the roles the owner's rule names, until the owner changes it", async () => {
    type Item = { id: number; kind?: string; body: string | null; bodyRedacted: boolean };
    const bodiesSeenBy = async (headers: Record<string, string>) => {
      const body = (await app.inject({ method: 'GET', url: '/api/customers/1/360', headers })).json();
      const events: Item[] = body.timeline.events.filter((e: Item) => e.kind === 'interaction');
      return {
        hidden: body.complaint_text_hidden as boolean,
        timeline: Object.fromEntries(events.map((e) => [e.id, e.body])),
        redacted: events.filter((e) => e.bodyRedacted).map((e) => e.id),
        open: Object.fromEntries((body.open_interactions as Item[]).map((i) => [i.id, i.body])),
      };
    };
    const marketer = await signInAs(app, database, 'marketer');
    const manager = await signInAs(app, database, 'manager');

    const hidden = await bodiesSeenBy(marketer.headers);
    expect(hidden.hidden).toBe(true);
    expect(hidden.timeline).toEqual({
      21: null,
      22: null,
      23: 'Please order blue frames',
      24: 'When do you open?',
      25: null,
    });
    expect(hidden.open).toEqual({ 23: 'Please order blue frames', 24: 'When do you open?', 25: null });
    expect(hidden.redacted).toEqual([25, 21, 22]);

    const shown = await bodiesSeenBy(manager.headers);
    expect(shown.hidden).toBe(false);
    expect(shown.redacted).toEqual([]);
    expect(shown.timeline[21]).toBe('The right shoe squeaks');
    expect(shown.open[25]).toBe('The lens case cracked');

    const owner = await signInAs(app, database, 'owner');
    const changed = await app.inject({
      method: 'PATCH',
      url: '/api/settings',
      headers: owner.headers,
      payload: { hideComplaintTextFrom: [] },
    });
    expect(changed.statusCode).toBe(200);
    const now = await bodiesSeenBy(marketer.headers);
    expect(now.hidden).toBe(false);
    expect(now.timeline[21]).toBe('The right shoe squeaks');
    expect(now.open[25]).toBe('The lens case cracked');
  });

  it('writes notes through the service as the actor, at their store', async () => {
    const note = await addPreferenceNote(database, CLI_ACTOR, 1, { note: 'Likes Murakami' });
    expect(note).toMatchObject({ note: 'Likes Murakami', author: null, store: null, source: 'staff' });
    const view = await customer360(database, CLI_ACTOR, 1);
    expect(view.preference_notes.map((n) => n.note)).toEqual(['Likes Murakami']);
  });
});
