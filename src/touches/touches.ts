import { z } from 'zod';
import {
  DEFAULT_PAGING,
  MoneyInput,
  normalizeMoney,
  type Paging,
  pageOf,
  requireNotErased,
} from '../commerce/index.ts';
import type { Database, TouchChannel } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

export const TOUCH_CHANNELS = [
  'email',
  'letter',
  'dm',
  'newsletter',
  'step_mail',
  'phone',
  'sms',
] as const satisfies readonly TouchChannel[];

const label = z.string().trim().min(1).max(200);

export const TouchInput = z.object({
  channel: z.enum(TOUCH_CHANNELS),
  campaign: label.nullable().optional(),
  flow: label.nullable().optional(),
  variant: label.nullable().optional(),
  subject: z.string().trim().max(500).nullable().optional(),
  cost: MoneyInput.optional().describe('what sending it cost; default 0'),
  sentAt: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' })
    .transform((value) => new Date(value))
    .optional()
    .describe('default: now'),
  externalId: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('id in the sending system; sending it again records nothing new'),
});
export type TouchInput = z.output<typeof TouchInput>;

/** One message that went (or was meant to go) to one customer. Cost is an exact decimal string. */
export type Touch = {
  id: number;
  customerId: number;
  externalId: string | null;
  channel: TouchChannel;
  campaign: string | null;
  flow: string | null;
  variant: string | null;
  subject: string | null;
  cost: string;
  sentAt: Date;
  deliveredAt: Date | null;
  openedAt: Date | null;
  clickedAt: Date | null;
  bouncedAt: Date | null;
};

export type TouchFilter = { channel?: TouchChannel; campaign?: string };

const COLUMNS = [
  'id',
  'customer_id',
  'external_id',
  'channel',
  'campaign',
  'flow',
  'variant',
  'subject',
  'cost',
  'sent_at',
  'delivered_at',
  'opened_at',
  'clicked_at',
  'bounced_at',
] as const;

type TouchRow = {
  id: number;
  customer_id: number;
  external_id: string | null;
  channel: TouchChannel;
  campaign: string | null;
  flow: string | null;
  variant: string | null;
  subject: string | null;
  cost: string;
  sent_at: Date;
  delivered_at: Date | null;
  opened_at: Date | null;
  clicked_at: Date | null;
  bounced_at: Date | null;
};

const toTouch = (row: TouchRow): Touch => ({
  id: row.id,
  customerId: row.customer_id,
  externalId: row.external_id,
  channel: row.channel,
  campaign: row.campaign,
  flow: row.flow,
  variant: row.variant,
  subject: row.subject,
  cost: row.cost,
  sentAt: row.sent_at,
  deliveredAt: row.delivered_at,
  openedAt: row.opened_at,
  clickedAt: row.clicked_at,
  bouncedAt: row.bounced_at,
});

/** Fields the replay states and the stored touch has otherwise; defaults (cost 0, sent now) count as unstated. */
function differences(input: TouchInput, customerId: number, stored: Touch): string[] {
  const found: string[] = [];
  if (stored.customerId !== customerId) found.push('customer');
  if (input.channel !== stored.channel) found.push('channel');
  for (const key of ['campaign', 'flow', 'variant', 'subject'] as const) {
    if (input[key] !== undefined && input[key] !== stored[key]) found.push(key);
  }
  if (input.cost !== undefined && normalizeMoney(input.cost) !== stored.cost) found.push('cost');
  if (input.sentAt !== undefined && input.sentAt.getTime() !== stored.sentAt.getTime()) found.push('sentAt');
  return found;
}

/**
 * Records one outbound message to a customer. With an `externalId` it is idempotent like orders: the
 * sending system may post the same message again (`created: false`); different content under the same
 * id is refused with 409 `touch_conflict`.
 */
export async function recordTouch(
  database: Database,
  customerId: number,
  input: TouchInput,
): Promise<{ touch: Touch; created: boolean }> {
  await requireNotErased(database, customerId);
  const row = await database.db
    .insertInto('touches')
    .values({
      customer_id: customerId,
      external_id: input.externalId ?? null,
      channel: input.channel,
      campaign: input.campaign ?? null,
      flow: input.flow ?? null,
      variant: input.variant ?? null,
      subject: input.subject ?? null,
      cost: input.cost === undefined ? '0.00' : normalizeMoney(input.cost),
      sent_at: input.sentAt ?? new Date(),
    })
    .onConflict((oc) => oc.column('external_id').doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  if (row) return { touch: toTouch(row), created: true };

  const stored = toTouch(
    await database.db
      .selectFrom('touches')
      .select(COLUMNS)
      .where('external_id', '=', input.externalId ?? '')
      .executeTakeFirstOrThrow(),
  );
  const differs = differences(input, customerId, stored);
  if (differs.length > 0) {
    throw new KizunaError(
      'touch_conflict',
      `Touch ${input.externalId} was already recorded with a different ${differs.join(', ')}`,
      { field: differs[0] === 'customer' ? 'externalId' : differs[0], status: 409 },
    );
  }
  return { touch: stored, created: false };
}

/** A customer's touches, newest first. */
export async function listCustomerTouches(
  database: Database,
  customerId: number,
  filter: TouchFilter = {},
  paging: Paging = DEFAULT_PAGING,
): Promise<{ touches: Touch[]; hasMore: boolean }> {
  let query = database.db.selectFrom('touches').select(COLUMNS).where('customer_id', '=', customerId);
  if (filter.channel) query = query.where('channel', '=', filter.channel);
  if (filter.campaign) query = query.where('campaign', '=', filter.campaign);
  const rows = await query
    .orderBy('sent_at', 'desc')
    .orderBy('id', 'desc')
    .limit(paging.limit + 1)
    .offset(paging.offset)
    .execute();
  const page = pageOf(rows, paging);
  return { touches: page.items.map(toTouch), hasMore: page.hasMore };
}
