import { sql } from 'kysely';
import { z } from 'zod';
import { calendarDate, oneOf, optionalText, requiredText, timestamp, yesNo } from '../fields.ts';
import { assignments, changed, countUpsert, type ImportKind, reference, stageTable } from '../kind.ts';

const stage = stageTable('customers');
export const ACQUISITION_SOURCES = [
  'walk_in',
  'advert',
  'referral',
  'online',
  'event',
  'import',
  'other',
] as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Customers: identity, contact points, consents per channel, tags, custom fields, store, owner, referral. */
export const customers: ImportKind = {
  name: 'customers',
  tables: ['customers', 'consents'],
  derived: ['consents_in_force', 'customer_category_facts'],
  required: ['external_id'],
  optional: [
    'name',
    'name_kana',
    'email',
    'phone',
    'postal_code',
    'address',
    'birth_date',
    'home_store',
    'acquisition_source',
    'referred_by',
    'account_owner',
    'tags',
    'consent_email',
    'consent_sms',
    'consent_phone',
    'consent_letter',
    'do_not_contact',
    'created_at',
  ],
  customColumns: true,
  key: ['external_id'],
  schema: (timeZone) =>
    z.object({
      external_id: requiredText(200),
      name: optionalText(300),
      name_kana: optionalText(300),
      email: optionalText(320).refine((v) => v === null || EMAIL.test(v), 'is not an e-mail address'),
      phone: optionalText(50).refine(
        (v) => v === null || /^[+\d][\d\s()\-.]{3,}$/.test(v),
        'is not a phone number',
      ),
      postal_code: optionalText(20),
      address: optionalText(500),
      birth_date: calendarDate(),
      home_store: optionalText(100),
      acquisition_source: oneOf(ACQUISITION_SOURCES),
      referred_by: optionalText(200),
      account_owner: optionalText(100),
      tags: optionalText(2000),
      consent_email: yesNo(),
      consent_sms: yesNo(),
      consent_phone: yesNo(),
      consent_letter: yesNo(),
      do_not_contact: yesNo(),
      created_at: timestamp(timeZone),
      custom_fields: z
        .record(z.string(), z.string())
        .optional()
        .transform((v) => (v && Object.keys(v).length ? v : null)),
    }),
  stage: [
    ['external_id', 'text'],
    ['name', 'text'],
    ['name_kana', 'text'],
    ['email', 'text'],
    ['phone', 'text'],
    ['postal_code', 'text'],
    ['address', 'text'],
    ['birth_date', 'date'],
    ['home_store', 'text'],
    ['acquisition_source', 'text'],
    ['referred_by', 'text'],
    ['account_owner', 'text'],
    ['tags', 'text'],
    ['consent_email', 'boolean'],
    ['consent_sms', 'boolean'],
    ['consent_phone', 'boolean'],
    ['consent_letter', 'boolean'],
    ['do_not_contact', 'boolean'],
    ['created_at', 'timestamptz'],
    ['custom_fields', 'jsonb'],
  ],
  references: [
    reference(
      'customers',
      'home_store',
      'home_store',
      'stores',
      'code',
      'store',
      `insert into stores (code, name) select distinct home_store, home_store from ${stage} where home_store is not null on conflict do nothing`,
    ),
    reference(
      'customers',
      'account_owner',
      'account_owner',
      'staff',
      'code',
      'staff member',
      `insert into staff (code, name, role) select distinct account_owner, account_owner, 'store_staff' from ${stage}
       where account_owner is not null on conflict do nothing`,
    ),
    {
      // A referrer must be known already or come in the same batch.
      field: 'referred_by',
      what: 'referring customer',
      missing: sql`select s.line, s.referred_by as value from ${sql.table(stage)} s
        where s.referred_by is not null
          and not exists (select 1 from customers c where c.external_id = s.referred_by)
          and not exists (select 1 from ${sql.table(stage)} r where r.external_id = s.referred_by)`,
      create:
        sql.raw(`insert into customers (external_id, acquisition_source) select distinct referred_by, 'import' from ${stage}
        where referred_by is not null on conflict do nothing`),
    },
  ],
  async write(tx, staged) {
    const cols = [
      'name',
      'name_kana',
      'email',
      'phone',
      'postal_code',
      'address',
      'birth_date',
      'tags',
      'custom_fields',
      'acquisition_source',
      'account_owner_staff_id',
      'home_store_id',
      'do_not_contact',
    ];
    const counts = await countUpsert(
      tx,
      `insert into customers (external_id, ${cols.join(', ')}, created_at)
       select s.external_id, s.name, s.name_kana, s.email, s.phone, s.postal_code, s.address, s.birth_date,
              coalesce(string_to_array(s.tags, '|'), '{}'), coalesce(s.custom_fields, '{}'), s.acquisition_source,
              o.id, st.id, coalesce(s.do_not_contact, false), coalesce(s.created_at, now())
       from ${stage} s left join stores st on st.code = s.home_store left join staff o on o.code = s.account_owner
       order by s.line
       on conflict (external_id) do update set ${assignments(cols)}, updated_at = now()
       where customers.erased_at is null and ${changed('customers', cols)}`,
      staged,
    );
    await sql`update customers c set referred_by_customer_id = r.id
      from ${sql.table(stage)} s join customers r on r.external_id = s.referred_by
      where c.external_id = s.external_id and c.erased_at is null
        and c.referred_by_customer_id is distinct from r.id`.execute(tx.db);
    // Consent is a history: a row is added only where the file's value differs from the one in force.
    const consents = await sql`insert into consents (customer_id, channel, granted, recorded_at, source)
      select c.id, ch.channel, ch.granted, now(), 'import'
      from ${sql.table(stage)} s
      join customers c on c.external_id = s.external_id
      cross join lateral (values ('email', s.consent_email), ('sms', s.consent_sms),
                                 ('phone', s.consent_phone), ('letter', s.consent_letter)) ch(channel, granted)
      where ch.granted is not null and c.erased_at is null
        and ch.granted is distinct from (
          select x.granted from consents x where x.customer_id = c.id and x.channel = ch.channel
          order by x.recorded_at desc, x.id desc limit 1)`.execute(tx.db);
    return { ...counts, extra: { consent_changes: Number(consents.numAffectedRows ?? 0) } };
  },
};
