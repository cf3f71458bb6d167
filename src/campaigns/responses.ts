import { sql } from 'kysely';
import { verifyLink } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * What comes back from a campaign: opt-outs through the unsubscribe link, and bounces.
 */

export type UnsubscribeResult = { customerId: number; campaignId: number | null; recorded: boolean };

/**
 * The unsubscribe link (GET page, POST one-click per RFC 8058): records the e-mail consent as withdrawn
 * (a consents row: email, granted=false, source 'unsubscribe:campaign <id>'), so every later e-mail and
 * newsletter is refused by the contact policy (no_consent:email). Clicking again records nothing new.
 * A link of a customer since merged acts on the surviving record.
 */
export async function unsubscribe(
  database: Database,
  token: string,
  now = new Date(),
): Promise<UnsubscribeResult> {
  const payload = await verifyLink(database, token, 'unsubscribe', now);
  const campaignId = payload.extra?.campaign !== undefined ? Number(payload.extra.campaign) : null;
  const customer = await database.db
    .selectFrom('customers')
    .select(['id', 'merged_into_customer_id'])
    .where('id', '=', payload.subject)
    .executeTakeFirst();
  if (!customer)
    throw new KizunaError('customer_not_found', 'This link’s customer no longer exists', { status: 404 });
  const customerId = customer.merged_into_customer_id ?? customer.id;
  const latest = await database.db
    .selectFrom('consents')
    .select('granted')
    .where('customer_id', '=', customerId)
    .where('channel', '=', 'email')
    .orderBy('recorded_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (latest && !latest.granted) return { customerId, campaignId, recorded: false };
  await database.db
    .insertInto('consents')
    .values({
      customer_id: customerId,
      channel: 'email',
      granted: false,
      recorded_at: now,
      source: campaignId === null ? 'unsubscribe' : `unsubscribe:campaign ${campaignId}`,
    })
    .execute();
  return { customerId, campaignId, recorded: true };
}

/**
 * A bounce reported after sending (a DSN, the relay's webhook): the touch gets bounced_at and the
 * recipient row state 'bounced'. An SMTP 5xx at send time is recorded the same way by the sender.
 */
export async function recordBounce(
  database: Database,
  input: { campaignId: number; customerId: number; reason?: string; at?: Date },
): Promise<{ bounced: boolean }> {
  const at = input.at ?? new Date();
  return database.transaction(async (tx) => {
    const row = await tx.db
      .selectFrom('campaign_recipients')
      .select(['touch_id', 'state'])
      .where('campaign_id', '=', input.campaignId)
      .where('customer_id', '=', input.customerId)
      .executeTakeFirst();
    if (!row) {
      throw new KizunaError(
        'recipient_not_found',
        `Customer ${input.customerId} is not a recipient of campaign ${input.campaignId}`,
        { status: 404 },
      );
    }
    if (row.state !== 'sent' && row.state !== 'bounced') {
      throw new KizunaError(
        'not_sent',
        `Nothing was sent to customer ${input.customerId} (state ${row.state})`,
        {
          status: 409,
        },
      );
    }
    if (row.touch_id !== null) {
      await sql`update touches set bounced_at = coalesce(bounced_at, ${at})
        where customer_id = ${input.customerId} and id = ${row.touch_id}`.execute(tx.db);
    }
    await tx.db
      .updateTable('campaign_recipients')
      .set({ state: 'bounced', reason: input.reason ?? 'bounced' })
      .where('campaign_id', '=', input.campaignId)
      .where('customer_id', '=', input.customerId)
      .execute();
    return { bounced: true };
  });
}
