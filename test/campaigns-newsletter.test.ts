import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/index.ts';
import {
  createCampaign,
  emailChannel,
  type MailCatcher,
  sendCampaign,
  startMailCatcher,
} from '../src/campaigns/index.ts';
import type { Database } from '../src/db/index.ts';
import { loadCustomers, tagSegment } from './campaigns-fixture.ts';
import { openTestDatabase } from './helpers/database.ts';

/** One-to-class: one newsletter issue, each recipient gets the sections whose segment they are in. */
describe('newsletter sections per segment', () => {
  let database: Database;
  let catcher: MailCatcher;

  beforeAll(async () => {
    database = await openTestDatabase();
    catcher = await startMailCatcher();
    await loadCustomers(database, [
      { id: 1, name: 'Aiko', consents: { email: true }, tags: ['audience', 'wine'] },
      { id: 2, name: 'Ben', consents: { email: true }, tags: ['audience', 'books'] },
      { id: 3, name: 'Chie', consents: { email: true }, tags: ['audience', 'wine', 'books'] },
    ]);
    await tagSegment(database, 'audience');
    await tagSegment(database, 'book lovers', 'books');
  });
  afterAll(async () => {
    await catcher.close();
    await database.close();
  });

  it('sends each recipient the sections of their segments, logged as newsletter touches', async () => {
    const campaign = await createCampaign(database, CLI_ACTOR, {
      name: 'November letter',
      channel: 'newsletter',
      audience: { segment: 'audience' },
      sections: [
        {
          title: 'Wine corner',
          rules: { kind: 'tag', tags: ['wine'] },
          bodyText: 'Beaujolais is here, {{ customer.name }}.',
        },
        { title: 'New books', segment: 'book lovers', bodyText: 'Three new novels.' },
        { title: 'Shop news', bodyText: 'Open late on Fridays.' },
      ],
    });
    const email = emailChannel(database, { smtpUrl: catcher.url });
    const result = await sendCampaign(database, CLI_ACTOR, campaign.id, { senders: { newsletter: email } });
    await email.close?.();
    expect(result).toMatchObject({ sent: 3, suppressed: 0 });
    const mails = new Map((await catcher.list()).map((m) => [m.to, m.text]));
    const titles = (text: string | undefined) => [...(text ?? '').matchAll(/== (.+) ==/g)].map((m) => m[1]);
    expect(titles(mails.get('aiko@example.jp'))).toEqual(['Wine corner', 'Shop news']);
    expect(titles(mails.get('ben@example.jp'))).toEqual(['New books', 'Shop news']);
    expect(titles(mails.get('chie@example.jp'))).toEqual(['Wine corner', 'New books', 'Shop news']);
    expect(mails.get('aiko@example.jp')).toContain('Beaujolais is here, Aiko.');
    const channels = await database.db
      .selectFrom('touches')
      .select('channel')
      .distinct()
      .where('campaign_id', '=', campaign.id)
      .execute();
    expect(channels).toEqual([{ channel: 'newsletter' }]);
  });
});
