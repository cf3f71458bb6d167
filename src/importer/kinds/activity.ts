import { z } from 'zod';
import { integer, money, oneOf, optionalText, requiredText, timestamp } from '../fields.ts';
import {
  assignments,
  changed,
  countUpsert,
  type ImportKind,
  type Reference,
  reference,
  stageTable,
} from '../kind.ts';

const createCustomers = (kind: 'returns' | 'touches' | 'interactions' | 'preferences') =>
  `insert into customers (external_id, acquisition_source) select distinct customer_id, 'import' from ${stageTable(kind)}
   on conflict do nothing`;

const customerReference = (kind: 'returns' | 'touches' | 'interactions' | 'preferences'): Reference =>
  reference(
    kind,
    'customer_id',
    'customer_id',
    'customers',
    'external_id',
    'customer',
    createCustomers(kind),
  );

const storeReference = (kind: 'interactions' | 'preferences'): Reference =>
  reference(
    kind,
    'store',
    'store',
    'stores',
    'code',
    'store',
    `insert into stores (code, name) select distinct store, store from ${stageTable(kind)} where store is not null on conflict do nothing`,
  );

const staffReference = (kind: 'interactions' | 'preferences', column: string): Reference =>
  reference(
    kind,
    column,
    column,
    'staff',
    'code',
    'staff member',
    `insert into staff (code, name, role) select distinct ${column}, ${column}, 'store_staff' from ${stageTable(kind)}
     where ${column} is not null on conflict do nothing`,
  );

/** Upserts a customer-scoped record keyed by its external id; `select` lists the values for `columns`. */
function upsertByExternalId(
  table: string,
  columns: readonly string[],
  select: string,
  from: string,
  staged: number,
) {
  return (tx: Parameters<ImportKind['write']>[0]) =>
    countUpsert(
      tx,
      `insert into ${table} (external_id, customer_id, ${columns.join(', ')})
       select ${select} from ${from} order by s.line
       on conflict (external_id) do update set customer_id = excluded.customer_id, ${assignments(columns)}
       where ${changed(table, ['customer_id', ...columns])}`,
      staged,
    );
}

export const returns: ImportKind = {
  name: 'returns',
  tables: ['returns'],
  required: ['return_id', 'customer_id', 'sku', 'quantity', 'amount', 'returned_at'],
  optional: ['order_id', 'reason'],
  key: ['return_id'],
  schema: (timeZone) =>
    z.object({
      return_id: requiredText(200),
      customer_id: requiredText(200),
      order_id: optionalText(200),
      sku: requiredText(100),
      quantity: integer({ required: true, min: 1 }),
      amount: money({ required: true, min: 0 }),
      returned_at: timestamp(timeZone, { required: true }),
      reason: optionalText(),
    }),
  stage: [
    ['return_id', 'text'],
    ['customer_id', 'text'],
    ['order_id', 'text'],
    ['sku', 'text'],
    ['quantity', 'integer'],
    ['amount', 'numeric(14,2)'],
    ['returned_at', 'timestamptz'],
    ['reason', 'text'],
  ],
  references: [
    customerReference('returns'),
    reference('returns', 'sku', 'sku', 'products', 'sku', 'product'),
    reference('returns', 'order_id', 'order_id', 'orders', 'external_id', 'order'),
  ],
  write: (tx, staged) =>
    upsertByExternalId(
      'returns',
      ['order_id', 'product_id', 'quantity', 'amount', 'returned_at', 'reason'],
      's.return_id, c.id, o.id, p.id, s.quantity, s.amount, s.returned_at, s.reason',
      `${stageTable('returns')} s join customers c on c.external_id = s.customer_id join products p on p.sku = s.sku
       left join orders o on o.external_id = s.order_id`,
      staged,
    )(tx),
};

export const TOUCH_CHANNELS = ['email', 'letter', 'dm', 'newsletter', 'step_mail', 'phone', 'sms'] as const;

export const touches: ImportKind = {
  name: 'touches',
  tables: ['touches'],
  required: ['touch_id', 'customer_id', 'channel', 'sent_at'],
  optional: [
    'campaign',
    'flow',
    'variant',
    'subject',
    'cost',
    'delivered_at',
    'opened_at',
    'clicked_at',
    'bounced_at',
  ],
  key: ['touch_id'],
  schema: (timeZone) =>
    z.object({
      touch_id: requiredText(200),
      customer_id: requiredText(200),
      channel: oneOf(TOUCH_CHANNELS, { required: true }),
      campaign: optionalText(300),
      flow: optionalText(300),
      variant: optionalText(100),
      subject: optionalText(500),
      cost: money({ min: 0 }),
      sent_at: timestamp(timeZone, { required: true }),
      delivered_at: timestamp(timeZone),
      opened_at: timestamp(timeZone),
      clicked_at: timestamp(timeZone),
      bounced_at: timestamp(timeZone),
    }),
  stage: [
    ['touch_id', 'text'],
    ['customer_id', 'text'],
    ['channel', 'text'],
    ['campaign', 'text'],
    ['flow', 'text'],
    ['variant', 'text'],
    ['subject', 'text'],
    ['cost', 'numeric(14,2)'],
    ['sent_at', 'timestamptz'],
    ['delivered_at', 'timestamptz'],
    ['opened_at', 'timestamptz'],
    ['clicked_at', 'timestamptz'],
    ['bounced_at', 'timestamptz'],
  ],
  references: [customerReference('touches')],
  write: (tx, staged) =>
    upsertByExternalId(
      'touches',
      [
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
      ],
      `s.touch_id, c.id, s.channel, s.campaign, s.flow, s.variant, s.subject, coalesce(s.cost, 0), s.sent_at,
       s.delivered_at, s.opened_at, s.clicked_at, s.bounced_at`,
      `${stageTable('touches')} s join customers c on c.external_id = s.customer_id`,
      staged,
    )(tx),
};

export const interactions: ImportKind = {
  name: 'interactions',
  tables: ['interactions'],
  required: ['interaction_id', 'customer_id', 'kind', 'channel', 'opened_at'],
  optional: [
    'status',
    'subject',
    'body',
    'store',
    'owner',
    'duration_seconds',
    'first_response_at',
    'resolved_at',
  ],
  key: ['interaction_id'],
  schema: (timeZone) =>
    z.object({
      interaction_id: requiredText(200),
      customer_id: requiredText(200),
      kind: oneOf(['inquiry', 'request', 'complaint', 'suggestion', 'call'], { required: true }),
      channel: oneOf(['phone', 'email', 'store', 'web', 'letter'], { required: true }),
      status: oneOf(['open', 'waiting', 'resolved', 'closed']),
      subject: optionalText(500),
      body: optionalText(20000),
      store: optionalText(100),
      owner: optionalText(100),
      duration_seconds: integer({ min: 0, max: 7 * 24 * 3600 }),
      opened_at: timestamp(timeZone, { required: true }),
      first_response_at: timestamp(timeZone),
      resolved_at: timestamp(timeZone),
    }),
  stage: [
    ['interaction_id', 'text'],
    ['customer_id', 'text'],
    ['kind', 'text'],
    ['channel', 'text'],
    ['status', 'text'],
    ['subject', 'text'],
    ['body', 'text'],
    ['store', 'text'],
    ['owner', 'text'],
    ['duration_seconds', 'integer'],
    ['opened_at', 'timestamptz'],
    ['first_response_at', 'timestamptz'],
    ['resolved_at', 'timestamptz'],
  ],
  references: [
    customerReference('interactions'),
    storeReference('interactions'),
    staffReference('interactions', 'owner'),
  ],
  write: (tx, staged) =>
    upsertByExternalId(
      'interactions',
      [
        'kind',
        'channel',
        'status',
        'subject',
        'body',
        'store_id',
        'owner_staff_id',
        'duration_seconds',
        'opened_at',
        'first_response_at',
        'resolved_at',
      ],
      `s.interaction_id, c.id, s.kind, s.channel,
       coalesce(s.status, case when s.resolved_at is not null then 'resolved' else 'open' end),
       s.subject, s.body, st.id, o.id, s.duration_seconds, s.opened_at, s.first_response_at, s.resolved_at`,
      `${stageTable('interactions')} s join customers c on c.external_id = s.customer_id
       left join stores st on st.code = s.store left join staff o on o.code = s.owner`,
      staged,
    )(tx),
};

export const preferences: ImportKind = {
  name: 'preferences',
  tables: ['preferences'],
  required: ['preference_id', 'customer_id'],
  optional: ['key', 'value', 'note', 'source', 'store', 'author', 'noted_at'],
  key: ['preference_id'],
  schema: (timeZone) =>
    z
      .object({
        preference_id: requiredText(200),
        customer_id: requiredText(200),
        key: optionalText(200),
        value: optionalText(2000),
        note: optionalText(5000),
        source: oneOf(['staff', 'inferred', 'customer']),
        store: optionalText(100),
        author: optionalText(100),
        noted_at: timestamp(timeZone),
      })
      .superRefine((row, ctx) => {
        if (row.note === null && (row.key === null || row.value === null)) {
          ctx.addIssue({
            code: 'custom',
            path: ['note'],
            message: 'a preference needs a note, or both key and value',
          });
        }
      }),
  stage: [
    ['preference_id', 'text'],
    ['customer_id', 'text'],
    ['key', 'text'],
    ['value', 'text'],
    ['note', 'text'],
    ['source', 'text'],
    ['store', 'text'],
    ['author', 'text'],
    ['noted_at', 'timestamptz'],
  ],
  references: [
    customerReference('preferences'),
    storeReference('preferences'),
    staffReference('preferences', 'author'),
  ],
  write: (tx, staged) =>
    upsertByExternalId(
      'preferences',
      ['key', 'value', 'note', 'source', 'store_id', 'author_staff_id', 'noted_at'],
      // Without noted_at in the file, a re-import keeps the time of the first import (idempotent).
      `s.preference_id, c.id, s.key, s.value, s.note, coalesce(s.source, 'staff'), st.id, a.id,
       coalesce(s.noted_at, e.noted_at, now())`,
      `${stageTable('preferences')} s join customers c on c.external_id = s.customer_id
       left join stores st on st.code = s.store left join staff a on a.code = s.author
       left join preferences e on e.external_id = s.preference_id`,
      staged,
    )(tx),
};
