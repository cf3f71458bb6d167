import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import type { MailCatcher } from '../src/campaigns/index.ts';
import type { Database } from '../src/db/index.ts';
import { loadCustomers, tagSegment } from './campaigns-fixture.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';
import { catchSmtp, type SmtpCatcher } from './helpers/smtp.ts';

/**
 * E-mail end to end with a real SMTP server on 127.0.0.1: personalisation, text + HTML, the unsubscribe
 * headers and link; the link (an HTTP request) records the opt-out and the next campaign refuses it.
 *
 * Aiko: e-mail consent, bought red wine on 2026-05-10, a note in force and an obsolete one.
 * Ben: e-mail consent, no purchases. Chie: never gave consent. Daichi: withdrew consent. Eri: do-not-contact.
 */
describe('campaign e-mail over SMTP', () => {
  let database: Database;
  let catcher: MailCatcher;
  let smtp: SmtpCatcher;
  let app: ReturnType<typeof buildServer>;
  let headers: Record<string, string>;

  beforeAll(async () => {
    database = await openTestDatabase();
    smtp = await catchSmtp();
    catcher = smtp.catcher;
    app = buildServer(database);
    await loadCustomers(database, [
      { id: 1, name: 'Aiko', consents: { email: true } },
      { id: 2, name: 'Ben', consents: { email: true } },
      { id: 3, name: 'Chie' },
      { id: 4, name: 'Daichi', consents: { email: false } },
      { id: 5, name: 'Eri', consents: { email: true }, doNotContact: true },
    ]);
    const db = database.db;
    await db
      .insertInto('products')
      .values({ id: 1, sku: 'W1', name: 'Red wine', category: 'wine', price: 3000 })
      .execute();
    await db
      .insertInto('orders')
      .values({
        customer_id: 1,
        id: 1,
        external_id: 'o1',
        ordered_at: new Date('2026-05-10T10:00:00Z'),
        total: 3000,
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
        unit_price: 3000,
        amount: 3000,
      })
      .execute();
    await db
      .insertInto('preferences')
      .values([
        { customer_id: 1, key: 'wine', value: 'with ice' },
        { customer_id: 1, note: 'prefers white', obsolete_at: new Date('2026-03-01T00:00:00Z') },
      ])
      .execute();
    await tagSegment(database, 'audience');
    headers = await tokenHeaders(database, 'marketer');
  });

  afterAll(async () => {
    await app.close();
    await smtp.close();
    await database.close();
  });

  async function createAndSend(name: string) {
    const created = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name,
        channel: 'email',
        audience: { segment: 'audience' },
        variants: [
          {
            code: 'A',
            subject: '{{ customer.name }}, a wine for you',
            offer: '10% off white wine',
            bodyText:
              'Hello {{ customer.name }}. You like {{ favourite_category }}; last time {{ last_purchase.product }} on {{ last_purchase.date }}. Notes: {{ preference_notes | join: "; " }}. {{ offer }}',
            bodyHtml: '<p>Hello {{ customer.name }} — {{ offer }}</p>',
          },
        ],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.statusCode, sent.body).toBe(200);
    return { id, result: sent.json() };
  }

  it('sends personalised mails with text, HTML and unsubscribe headers only to those who may receive them', async () => {
    const { id, result } = await createAndSend('spring wine');
    expect(result).toMatchObject({ sent: 2, suppressed: 3, failed: 0, bounced: 0, status: 'sent' });
    const mails = await catcher.list();
    expect(mails.map((m) => m.to).sort()).toEqual(['aiko@example.jp', 'ben@example.jp']);

    const aiko = mails.find((m) => m.to === 'aiko@example.jp')!;
    expect(aiko.subject).toBe('Aiko, a wine for you');
    expect(aiko.messageId).toBe(`<c${id}.1@kizuna>`);
    expect(aiko.text).toContain(
      'Hello Aiko. You like wine; last time Red wine on 2026-05-10. Notes: wine: with ice.',
    );
    expect(aiko.text).toContain('10% off white wine');
    expect(aiko.text).not.toContain('prefers white');
    expect(aiko.html).toContain('<p>Hello Aiko — 10% off white wine</p>');
    const link = /http:\/\/127\.0\.0\.1:3000\/u\/[A-Za-z0-9_.-]+/.exec(aiko.text)?.[0];
    expect(link).toBeDefined();
    expect(aiko.html).toContain(link);
    expect(aiko.headers['list-unsubscribe']).toBe(`<${link}>`);
    expect(aiko.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');

    const ben = mails.find((m) => m.to === 'ben@example.jp')!;
    expect(ben.text).toContain('Hello Ben. You like ; last time  on .');

    const rows = await database.db
      .selectFrom('campaign_recipients')
      .select(['customer_id', 'state', 'reason', 'touch_id'])
      .where('campaign_id', '=', id)
      .orderBy('customer_id')
      .execute();
    expect(rows.map((r) => [r.customer_id, r.state, r.reason])).toEqual([
      [1, 'sent', null],
      [2, 'sent', null],
      [3, 'suppressed', 'no_consent:email'],
      [4, 'suppressed', 'no_consent:email'],
      [5, 'suppressed', 'do_not_contact'],
    ]);
    const touches = await database.db
      .selectFrom('touches')
      .select([
        'customer_id',
        'external_id',
        'channel',
        'campaign',
        'campaign_id',
        'variant',
        'subject',
        'cost',
      ])
      .where('campaign_id', '=', id)
      .orderBy('customer_id')
      .execute();
    expect(touches).toEqual([
      {
        customer_id: 1,
        external_id: `campaign:${id}:1`,
        channel: 'email',
        campaign: 'spring wine',
        campaign_id: id,
        variant: 'A',
        subject: 'Aiko, a wine for you',
        cost: '1.00',
      },
      expect.objectContaining({ customer_id: 2, external_id: `campaign:${id}:2`, cost: '1.00' }),
    ]);
  });

  it('the unsubscribe link shows a page, records the opt-out in one click, and the next campaign refuses it', async () => {
    const aiko = (await catcher.list()).find((m) => m.to === 'aiko@example.jp')!;
    const path = new URL(/http:\/\/\S+\/u\/[A-Za-z0-9_.-]+/.exec(aiko.text)![0]).pathname;

    const page = await app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');

    const click = await app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(click.statusCode, click.body).toBe(200);
    expect(click.json()).toEqual({ unsubscribed: true, recorded: true });
    const again = await app.inject({ method: 'POST', url: path });
    expect(again.json()).toEqual({ unsubscribed: true, recorded: false });

    const forged = await app.inject({ method: 'POST', url: `${path.slice(0, -3)}abc` });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.code).toBe('invalid_link');

    const history = await database.db
      .selectFrom('consents')
      .select(['channel', 'granted', 'source'])
      .where('customer_id', '=', 1)
      .orderBy('recorded_at')
      .orderBy('id')
      .execute();
    const first = (
      await database.db
        .selectFrom('campaigns')
        .select('id')
        .where('name', '=', 'spring wine')
        .executeTakeFirstOrThrow()
    ).id;
    expect(history).toEqual([
      { channel: 'email', granted: true, source: 'test' },
      { channel: 'email', granted: false, source: `unsubscribe:campaign ${first}` },
    ]);

    catcher.clear();
    const { id, result } = await createAndSend('summer wine');
    expect(result).toMatchObject({ sent: 1, suppressed: 4 });
    expect((await catcher.list()).map((m) => m.to)).toEqual(['ben@example.jp']);
    const aikoRow = await database.db
      .selectFrom('campaign_recipients')
      .select(['state', 'reason'])
      .where('campaign_id', '=', id)
      .where('customer_id', '=', 1)
      .executeTakeFirstOrThrow();
    expect(aikoRow).toEqual({ state: 'suppressed', reason: 'no_consent:email' });
  });

  it('an SMTP 5xx is a bounce, a 4xx is retried', async () => {
    await database.db
      .insertInto('consents')
      .values({
        customer_id: 3,
        channel: 'email',
        granted: true,
        source: 'test',
        recorded_at: new Date('2026-01-02T00:00:00Z'),
      })
      .execute();
    // Ben's mailbox refuses permanently; Chie's server asks to try again once.
    catcher.clear();
    catcher.rejectNext(1, 550, (address) => address === 'ben@example.jp');
    const created = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name: 'bounce test',
        channel: 'email',
        audience: { segment: 'audience' },
        costPerTouch: '2.50',
      },
    });
    const id = created.json().id as number;
    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.json()).toMatchObject({ sent: 1, bounced: 1 });
    const ben = await database.db
      .selectFrom('campaign_recipients as r')
      .innerJoin('touches as t', (j) =>
        j.onRef('t.customer_id', '=', 'r.customer_id').onRef('t.id', '=', 'r.touch_id'),
      )
      .select(['r.state', 't.bounced_at', 't.cost'])
      .where('r.campaign_id', '=', id)
      .where('r.customer_id', '=', 2)
      .executeTakeFirstOrThrow();
    expect(ben.state).toBe('bounced');
    expect(ben.bounced_at).toBeInstanceOf(Date);
    expect(ben.cost).toBe('2.50');

    catcher.rejectNext(1, 451, (address) => address === 'chie@example.jp');
    const retry = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: { name: 'retry test', channel: 'email', audience: { segment: 'audience' } },
    });
    const retryId = retry.json().id as number;
    const { sendCampaign, emailChannel } = await import('../src/campaigns/index.ts');
    const { CLI_ACTOR } = await import('../src/auth/index.ts');
    const email = emailChannel(database, { smtpUrl: catcher.url });
    const result = await sendCampaign(database, CLI_ACTOR, retryId, {
      senders: { email },
      backoffMs: 10,
    });
    await email.close?.();
    // Ben bounced on the last campaign but has consent: he is sent again; Chie after one retry.
    expect(result).toMatchObject({ sent: 2, failed: 0, bounced: 0 });
    const chie = await database.db
      .selectFrom('campaign_recipients')
      .select(['state', 'attempts'])
      .where('campaign_id', '=', retryId)
      .where('customer_id', '=', 3)
      .executeTakeFirstOrThrow();
    expect(chie).toEqual({ state: 'sent', attempts: 1 });
  });
});
