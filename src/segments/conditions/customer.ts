import { sql } from 'kysely';
import { z } from 'zod';
import type { ConditionKind } from '../rules.ts';
import { ids, texts } from '../rules.ts';
import { inBounds } from './sql-parts.ts';

// Conditions on the customer's own row (alias `c`). Each is wrapped in coalesce(…, false): a customer
// without the field is simply not matched, and `not` of it then matches them (no SQL NULL logic leaks).

const Tag = z.strictObject({
  kind: z.literal('tag'),
  tags: texts,
  match: z.enum(['any', 'all']).optional().describe('any (default) or all of the tags'),
});
type Tag = z.infer<typeof Tag>;

export const tag: ConditionKind<Tag> = {
  kind: 'tag',
  summary: 'has any (or all) of the tags',
  schema: Tag,
  compile: (p) =>
    p.match === 'all' ? sql<boolean>`c.tags @> ${p.tags}::text[]` : sql<boolean>`c.tags && ${p.tags}::text[]`,
  evaluate: (p, { customer }) =>
    p.match === 'all'
      ? p.tags.every((t) => customer.tags.includes(t))
      : p.tags.some((t) => customer.tags.includes(t)),
};

const CustomField = z.strictObject({
  kind: z.literal('custom_field'),
  field: z.string().min(1).max(100),
  equals: z.string().max(500).optional().describe('the field’s value as text; without it: the field is set'),
});
type CustomField = z.infer<typeof CustomField>;

export const customField: ConditionKind<CustomField> = {
  kind: 'custom_field',
  summary: 'a custom field is set (or equals a value, compared as text)',
  schema: CustomField,
  compile: (p) =>
    p.equals === undefined
      ? sql<boolean>`jsonb_exists(c.custom_fields, ${p.field}::text)`
      : sql<boolean>`coalesce((c.custom_fields ->> ${p.field}::text) = ${p.equals}::text, false)`,
  evaluate: (p, { customer }) => {
    if (!Object.hasOwn(customer.custom_fields, p.field)) return false;
    if (p.equals === undefined) return true;
    const value = customer.custom_fields[p.field];
    if (value === null) return false;
    return (typeof value === 'string' ? value : JSON.stringify(value)) === p.equals;
  },
};

const HomeStore = z.strictObject({ kind: z.literal('home_store'), storeIds: ids });
type HomeStore = z.infer<typeof HomeStore>;

export const homeStore: ConditionKind<HomeStore> = {
  kind: 'home_store',
  summary: 'the home store is one of these (stores bought at: `purchased` with storeIds)',
  schema: HomeStore,
  compile: (p) => sql<boolean>`coalesce(c.home_store_id = any(${p.storeIds}::bigint[]), false)`,
  evaluate: (p, { customer }) =>
    customer.home_store_id !== null && p.storeIds.includes(customer.home_store_id),
};

const Source = z.strictObject({ kind: z.literal('acquisition_source'), sources: texts });
type Source = z.infer<typeof Source>;

export const acquisitionSource: ConditionKind<Source> = {
  kind: 'acquisition_source',
  summary: 'came to us through one of these sources (advert, referral, walk-in…)',
  schema: Source,
  compile: (p) => sql<boolean>`coalesce(c.acquisition_source = any(${p.sources}::text[]), false)`,
  evaluate: (p, { customer }) =>
    customer.acquisition_source !== null && p.sources.includes(customer.acquisition_source),
};

const Owner = z.strictObject({ kind: z.literal('account_owner'), staffIds: ids });
type Owner = z.infer<typeof Owner>;

export const accountOwner: ConditionKind<Owner> = {
  kind: 'account_owner',
  summary: 'the staff member responsible for the relationship is one of these',
  schema: Owner,
  compile: (p) => sql<boolean>`coalesce(c.account_owner_staff_id = any(${p.staffIds}::bigint[]), false)`,
  evaluate: (p, { customer }) =>
    customer.account_owner_staff_id !== null && p.staffIds.includes(customer.account_owner_staff_id),
};

const BirthdayMonth = z.strictObject({
  kind: z.literal('birthday_month'),
  months: z.array(z.number().int().min(1).max(12)).min(1).max(12),
});
type BirthdayMonth = z.infer<typeof BirthdayMonth>;

export const birthdayMonth: ConditionKind<BirthdayMonth> = {
  kind: 'birthday_month',
  summary: 'the birthday (when known) is in one of these months (1–12)',
  schema: BirthdayMonth,
  compile: (p) =>
    sql<boolean>`coalesce(extract(month from c.birth_date)::int = any(${p.months}::int[]), false)`,
  evaluate: (p, { customer }) =>
    customer.birth_date !== null && p.months.includes(Number(customer.birth_date.slice(5, 7))),
};

const Age = z
  .strictObject({
    kind: z.literal('age'),
    min: z.number().int().min(0).max(150).optional(),
    max: z.number().int().min(0).max(150).optional(),
  })
  .refine((p) => p.min !== undefined || p.max !== undefined, { message: 'give min, max or both' });
type Age = z.infer<typeof Age>;

/** Whole years from a birth date to the asOf day (UTC), as PostgreSQL's age() counts them. */
function ageOn(birthDate: string, asOf: Date): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const y = asOf.getUTCFullYear();
  const m = asOf.getUTCMonth() + 1;
  const d = asOf.getUTCDate();
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

export const age: ConditionKind<Age> = {
  kind: 'age',
  summary: 'age in whole years on the asOf day, when the birth date is known',
  schema: Age,
  compile: (p, ctx) => {
    const day = ctx.asOf.toISOString().slice(0, 10);
    const years = sql`date_part('year', age(${day}::date, c.birth_date))`;
    const min = p.min === undefined ? sql`true` : sql`${years} >= ${p.min}`;
    const max = p.max === undefined ? sql`true` : sql`${years} <= ${p.max}`;
    return sql<boolean>`coalesce(c.birth_date is not null and ${min} and ${max}, false)`;
  },
  evaluate: (p, { customer }, { asOf }) =>
    customer.birth_date !== null && inBounds(ageOn(customer.birth_date, asOf), p.min, p.max),
};

const DoNotContact = z.strictObject({ kind: z.literal('do_not_contact') });
type DoNotContact = z.infer<typeof DoNotContact>;

export const doNotContact: ConditionKind<DoNotContact> = {
  kind: 'do_not_contact',
  summary: 'asked not to be contacted at all',
  schema: DoNotContact,
  compile: () => sql<boolean>`c.do_not_contact`,
  evaluate: (_p, { customer }) => customer.do_not_contact,
};
