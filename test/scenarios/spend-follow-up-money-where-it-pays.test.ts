import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.ts';
import { type MailCatcher, startMailCatcher } from '../../src/campaigns/index.ts';
import type { Database } from '../../src/db/index.ts';
import { loadCustomers } from '../campaigns-fixture.ts';
import { tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 5 (SCENARIOS.md): a letter campaign to everyone who bought in the last year. The contact
 * policy keeps letters for the loyal and semi-loyal tiers and moves the rest to e-mail; the preview lists
 * each exclusion with its reason; the cost estimate changes accordingly.
 *
 * The shop, worked by hand (all bought on 2026-03-01 except Ichiro, whose last purchase is 2024):
 *   Aiko, Ben (loyal) and Chie (semi-loyal): letter consent → a letter each (3 × 150 = 450.00);
 *   Daichi (semi-loyal): no letter consent → excluded, no_consent:letter (not a tier matter: no e-mail);
 *   Eri, Fumi (regular): letter and e-mail consent → an e-mail instead (2 × 1.00 = 2.00);
 *   Goro (regular): no e-mail consent → excluded, tier_not_allowed:letter, and e-mail: no_consent:email;
 *   Hana (new): an open complaint → excluded, tier_not_allowed:letter and complaint_quiet_period (not the
 *   tier alone, so no e-mail either).
 */
describe('scenario 5: spend follow-up money where it pays', () => {
  let database: Database;
  let catcher: MailCatcher;
  let app: ReturnType<typeof buildServer>;
  let headers: Record<string, string>;
  const previousSmtp = process.env.SMTP_URL;

  beforeAll(async () => {
    database = await openTestDatabase();
    catcher = await startMailCatcher();
    process.env.SMTP_URL = catcher.url;
    app = buildServer(database);
    const both = { letter: true, email: true };
    await loadCustomers(database, [
      {
        id: 1,
        name: 'Aiko',
        tier: 'loyal',
        consents: { letter: true },
        postalCode: '150-0001',
        address: '1-2-3 Jingumae, Tokyo',
      },
      {
        id: 2,
        name: 'Ben',
        tier: 'loyal',
        consents: both,
        postalCode: '530-0001',
        address: '4-5 Umeda, Osaka',
      },
      { id: 3, name: 'Chie', tier: 'semi_loyal', consents: { letter: true } },
      { id: 4, name: 'Daichi', tier: 'semi_loyal', consents: { email: true } },
      { id: 5, name: 'Eri', tier: 'regular', consents: both },
      { id: 6, name: 'Fumi', tier: 'regular', consents: both },
      { id: 7, name: 'Goro', tier: 'regular', consents: { letter: true, email: false } },
      { id: 8, name: 'Hana', tier: 'new', consents: both },
      { id: 9, name: 'Ichiro', tier: 'lapsed', consents: both },
    ]);
    await database.db
      .insertInto('orders')
      .values(
        Array.from({ length: 9 }, (_, i) => ({
          customer_id: i + 1,
          external_id: `o${i + 1}`,
          ordered_at: new Date(i === 8 ? '2024-05-01T10:00:00Z' : '2026-03-01T10:00:00Z'),
          total: 5000,
        })),
      )
      .execute();
    await database.db
      .insertInto('interactions')
      .values({ customer_id: 8, kind: 'complaint', channel: 'store', status: 'open', opened_at: new Date() })
      .execute();
    headers = await tokenHeaders(database, 'marketer');
    const segment = await app.inject({
      method: 'POST',
      url: '/api/segments',
      headers,
      payload: { name: 'bought last year', rules: { kind: 'purchased', withinDays: 365 } },
    });
    expect(segment.statusCode, segment.body).toBe(201);
  });

  afterAll(async () => {
    process.env.SMTP_URL = previousSmtp;
    if (previousSmtp === undefined) delete process.env.SMTP_URL;
    await app.close();
    await catcher.close();
    await database.close();
  });

  const letter = {
    channel: 'letter',
    audience: { segment: 'bought last year' },
    variants: [
      {
        code: 'A',
        subject: 'A thank-you from the shop',
        bodyText: 'Dear {{ customer.name }}, thank you for shopping with us this year. {{ offer }}',
        offer: 'Bring this letter for a free gift.',
      },
    ],
  };

  it('keeps letters for loyal and semi-loyal, moves the rest to e-mail, and lists every exclusion with its reason', async () => {
    const plain = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: { ...letter, name: 'thank-you letters' },
    });
    expect(plain.statusCode, plain.body).toBe(201);
    const plainPreview = (
      await app.inject({ method: 'POST', url: `/api/campaigns/${plain.json().id}/preview`, headers })
    ).json();
    expect(plainPreview).toMatchObject({
      recipients: 8,
      reach: { letter: 3 },
      excluded: { 'no_consent:letter': 1, 'tier_not_allowed:letter': 4 },
      totalCost: '450.00',
    });

    const withFallback = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${plain.json().id}/clone`,
      headers,
      payload: {
        name: 'thank-you letters, e-mail for the rest',
        fallbackChannel: 'email',
        fallbackCostPerTouch: '1.00',
      },
    });
    expect(withFallback.statusCode, withFallback.body).toBe(201);
    const id = withFallback.json().id as number;
    const preview = (
      await app.inject({ method: 'POST', url: `/api/campaigns/${id}/preview`, headers })
    ).json();
    expect(preview).toMatchObject({
      recipients: 8,
      reach: { letter: 3, email: 2 },
      excluded: { 'no_consent:letter': 1, 'tier_not_allowed:letter': 2 },
      cost: [
        { channel: 'letter', touches: 3, costPerTouch: '150.00', cost: '450.00' },
        { channel: 'email', touches: 2, costPerTouch: '1.00', cost: '2.00' },
      ],
      totalCost: '452.00',
    });
    expect(preview.excludedCustomers).toEqual([
      { customerId: 4, name: 'Daichi', tier: 'semi_loyal', reasons: ['no_consent:letter'] },
      {
        customerId: 7,
        name: 'Goro',
        tier: 'regular',
        reasons: ['tier_not_allowed:letter', 'email: no_consent:email'],
      },
      {
        customerId: 8,
        name: 'Hana',
        tier: 'new',
        reasons: ['tier_not_allowed:letter', 'complaint_quiet_period'],
      },
    ]);

    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.json()).toMatchObject({ sent: 5, suppressed: 3, status: 'sent' });
    expect((await catcher.list()).map((m) => m.to).sort()).toEqual(['eri@example.jp', 'fumi@example.jp']);
    const rows = await database.db
      .selectFrom('campaign_recipients as r')
      .leftJoin('touches as t', (j) =>
        j.onRef('t.customer_id', '=', 'r.customer_id').onRef('t.id', '=', 'r.touch_id'),
      )
      .select(['r.customer_id', 'r.state', 'r.channel', 'r.reason', 't.channel as touch_channel', 't.cost'])
      .where('r.campaign_id', '=', id)
      .orderBy('r.customer_id')
      .execute();
    expect(rows).toEqual([
      {
        customer_id: 1,
        state: 'sent',
        channel: 'letter',
        reason: null,
        touch_channel: 'letter',
        cost: '150.00',
      },
      {
        customer_id: 2,
        state: 'sent',
        channel: 'letter',
        reason: null,
        touch_channel: 'letter',
        cost: '150.00',
      },
      {
        customer_id: 3,
        state: 'sent',
        channel: 'letter',
        reason: null,
        touch_channel: 'letter',
        cost: '150.00',
      },
      {
        customer_id: 4,
        state: 'suppressed',
        channel: 'letter',
        reason: 'no_consent:letter',
        touch_channel: null,
        cost: null,
      },
      {
        customer_id: 5,
        state: 'sent',
        channel: 'email',
        reason: 'tier_not_allowed:letter',
        touch_channel: 'email',
        cost: '1.00',
      },
      {
        customer_id: 6,
        state: 'sent',
        channel: 'email',
        reason: 'tier_not_allowed:letter',
        touch_channel: 'email',
        cost: '1.00',
      },
      {
        customer_id: 7,
        state: 'suppressed',
        channel: 'letter',
        reason: 'tier_not_allowed:letter; email: no_consent:email',
        touch_channel: null,
        cost: null,
      },
      {
        customer_id: 8,
        state: 'suppressed',
        channel: 'letter',
        reason: 'tier_not_allowed:letter',
        touch_channel: null,
        cost: null,
      },
    ]);

    const csv = await app.inject({ method: 'GET', url: `/api/campaigns/${id}/letters.csv`, headers });
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('customer_id,variant,name,postal_code,address,subject,text');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2', '3']);
    expect(lines[1]).toContain('150-0001,"1-2-3 Jingumae, Tokyo"');
    expect(lines[1]).toContain(
      'Dear Aiko, thank you for shopping with us this year. Bring this letter for a free gift.',
    );
    const pdf = await app.inject({ method: 'GET', url: `/api/campaigns/${id}/letters.pdf`, headers });
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.rawPayload.toString('latin1').match(/\/Type \/Page\b/g)).toHaveLength(3);
  });
});
