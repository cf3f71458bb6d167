import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import { ConditionsResponse } from '../src/api/segment.routes.ts';
import type { Database } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

type Parameter = {
  name: string;
  type: string;
  items?: string;
  required: boolean;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  values?: string;
};
type Description = {
  kind: string;
  label: string;
  description: string;
  schema: { properties: Record<string, { const?: string }>; required: string[] };
  parameters: Parameter[];
};

/**
 * A small shop: store 1 (Aiko: tags vip and wine-club, from an advert; Ben: vip, a referral), store 2
 * (Chie: tag books, walk-in). Eri (merged into Aiko, tag ghost, source flyer) and Fumi (erased, tag gone)
 * must never show in the values. Products in categories wine and books.
 */
async function loadShop(database: Database): Promise<void> {
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: 1, code: 'S1', name: 'Shibuya' },
      { id: 2, code: 'S2', name: 'Umeda' },
    ])
    .execute();
  await db
    .insertInto('products')
    .values([
      { id: 1, sku: 'W1', name: 'Red wine', category: 'wine', price: 3000 },
      { id: 2, sku: 'W2', name: 'White wine', category: 'wine', price: 2500 },
      { id: 3, sku: 'B1', name: 'A novel', category: 'books', price: 1500 },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      { id: 1, name: 'Aiko', home_store_id: 1, tags: ['vip', 'wine-club'], acquisition_source: 'advert' },
      { id: 2, name: 'Ben', home_store_id: 1, tags: ['vip'], acquisition_source: 'referral' },
      { id: 3, name: 'Chie', home_store_id: 2, tags: ['books'], acquisition_source: 'walk-in' },
      {
        id: 4,
        name: 'Eri',
        home_store_id: 1,
        tags: ['ghost'],
        acquisition_source: 'flyer',
        merged_into_customer_id: 1,
      },
      { id: 5, name: null, home_store_id: 1, tags: ['gone'], erased_at: new Date('2026-01-01T00:00:00Z') },
    ])
    .execute();
}

describe('GET /api/segments/conditions', () => {
  let database: Database;
  let app: ReturnType<typeof buildServer>;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadShop(database);
    app = buildServer(database);
  });
  afterAll(async () => {
    await app.close();
    await database.close();
  });

  const get = async (headers: Record<string, string>) => {
    const response = await app.inject({ method: 'GET', url: '/api/segments/conditions', headers });
    expect(response.statusCode, response.body).toBe(200);
    ConditionsResponse.parse(response.json());
    return response.json() as { conditions: Description[]; values: Record<string, unknown> };
  };

  it('lists every condition kind with its parameters, as the rule parser accepts them', async () => {
    const { conditions } = await get(await tokenHeaders(database, 'marketer'));
    const kinds = conditions.map((c) => c.kind);
    for (const kind of ['purchased', 'last_purchase', 'first_purchase', 'tier', 'rfm', 'measure', 'tag']) {
      expect(kinds).toContain(kind);
    }
    expect(new Set(kinds).size).toBe(kinds.length);
    const byKind = new Map(conditions.map((c) => [c.kind, c]));

    const tier = byKind.get('tier')!;
    expect(tier.label).toBe('Tier');
    expect(tier.description).toMatch(/tier/);
    expect(tier.parameters).toEqual([
      {
        name: 'tiers',
        type: 'array',
        items: 'string',
        required: true,
        enum: ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'],
      },
    ]);
    expect(tier.schema.required).toEqual(['kind', 'tiers']);

    // first and last purchase share one zod schema; each names only itself
    expect(byKind.get('first_purchase')!.schema.properties.kind!.const).toBe('first_purchase');
    expect(byKind.get('last_purchase')!.label).toBe('Last purchase');

    const purchased = new Map(byKind.get('purchased')!.parameters.map((p) => [p.name, p]));
    expect(purchased.get('categories')).toMatchObject({
      type: 'array',
      items: 'string',
      values: 'categories',
    });
    expect(purchased.get('storeIds')).toMatchObject({ type: 'array', items: 'integer', values: 'stores' });
    expect(purchased.get('skus')!.values).toBe('products');
    expect(purchased.get('withinDays')).toMatchObject({
      type: 'integer',
      required: false,
      minimum: 1,
      maximum: 36_500,
    });
    expect([...purchased.values()].every((p) => !p.required)).toBe(true);

    const measure = new Map(byKind.get('measure')!.parameters.map((p) => [p.name, p]));
    expect(measure.get('measure')!.required).toBe(true);
    expect(measure.get('measure')!.enum).toContain('churn_risk');
    expect(byKind.get('tag')!.parameters.find((p) => p.name === 'tags')!.values).toBe('tags');
    expect(byKind.get('acquisition_source')!.parameters[0]!.values).toBe('acquisitionSources');
    expect(byKind.get('consent')!.parameters[0]!.enum).toEqual(['email', 'sms', 'phone', 'letter']);
  });

  it('gives conditions that the count route accepts when filled in from the description', async () => {
    const owner = await tokenHeaders(database, 'owner');
    const { conditions, values } = await get(owner);
    const byKind = new Map(conditions.map((c) => [c.kind, c]));
    const tierValue = byKind.get('tier')!.parameters[0]!.enum![0];
    const category = (values.categories as string[])[0];
    const rules = {
      op: 'or',
      children: [
        { kind: 'tier', tiers: [tierValue] },
        { kind: 'purchased', categories: [category], withinDays: 30 },
        { kind: 'tag', tags: [(values.tags as { tag: string }[])[0]!.tag] },
      ],
    };
    const response = await app.inject({
      method: 'POST',
      url: '/api/segments/count',
      headers: owner,
      payload: { rules },
    });
    expect(response.statusCode, response.body).toBe(200);
    // Aiko and Ben carry the most used tag, vip; nobody has a tier or a purchase yet
    expect(response.json().members).toBe(2);
  });

  it('offers categories, stores, and the sources and tags of the caller’s stores’ active customers', async () => {
    const all = (await get(await tokenHeaders(database, 'owner'))).values;
    expect(all.tiers).toEqual(['loyal', 'semi_loyal', 'regular', 'new', 'lapsed']);
    expect(all.rfmGroups).toContain('champions');
    expect(all.categories).toEqual(['books', 'wine']);
    expect(all.stores).toEqual([
      { id: 1, code: 'S1', name: 'Shibuya' },
      { id: 2, code: 'S2', name: 'Umeda' },
    ]);
    expect(all.acquisitionSources).toEqual(['advert', 'referral', 'walk-in']);
    expect(all.tags).toEqual([
      { tag: 'vip', customers: 2 },
      { tag: 'books', customers: 1 },
      { tag: 'wine-club', customers: 1 },
    ]);

    const umeda = (await get(await tokenHeaders(database, 'store_staff', { storeIds: [2] }))).values;
    expect(umeda.acquisitionSources).toEqual(['walk-in']);
    expect(umeda.tags).toEqual([{ tag: 'books', customers: 1 }]);
    expect(umeda.categories).toEqual(['books', 'wine']);
  });

  it('refuses an anonymous caller', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/segments/conditions' });
    expect(response.statusCode).toBe(401);
  });
});
