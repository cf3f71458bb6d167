import { z } from 'zod';
import { integer, money, oneOf, optionalText, requiredText } from '../fields.ts';
import { assignments, changed, countUpsert, type ImportKind, reference, stageTable } from '../kind.ts';

const ROLES = ['owner', 'manager', 'marketer', 'store_staff', 'service_agent'] as const;

export const stores: ImportKind = {
  name: 'stores',
  tables: ['stores'],
  required: ['code', 'name'],
  optional: ['timezone'],
  key: ['code'],
  schema: () =>
    z.object({
      code: requiredText(100),
      name: requiredText(),
      timezone: optionalText(64).refine((tz) => {
        if (tz === null) return true;
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'is not a known time zone (e.g. Asia/Tokyo)'),
    }),
  stage: [
    ['code', 'text'],
    ['name', 'text'],
    ['timezone', 'text'],
  ],
  references: [],
  write: (tx, staged) => {
    const cols = ['name', 'timezone'];
    return countUpsert(
      tx,
      `insert into stores (code, name, timezone)
       select code, name, coalesce(timezone, 'Asia/Tokyo') from ${stageTable('stores')} order by line
       on conflict (code) do update set ${assignments(cols)} where ${changed('stores', cols)}`,
      staged,
    );
  },
};

export const staff: ImportKind = {
  name: 'staff',
  tables: ['staff'],
  required: ['code', 'name', 'role'],
  optional: ['email', 'store'],
  key: ['code'],
  schema: () =>
    z.object({
      code: requiredText(100),
      name: requiredText(),
      email: optionalText(320),
      role: oneOf(ROLES, { required: true }),
      store: optionalText(100),
    }),
  stage: [
    ['code', 'text'],
    ['name', 'text'],
    ['email', 'text'],
    ['role', 'text'],
    ['store', 'text'],
  ],
  references: [
    reference(
      'staff',
      'store',
      'store',
      'stores',
      'code',
      'store',
      `insert into stores (code, name) select distinct store, store from ${stageTable('staff')} where store is not null on conflict do nothing`,
    ),
  ],
  write: (tx, staged) => {
    const cols = ['name', 'email', 'role', 'store_id'];
    return countUpsert(
      tx,
      `insert into staff (code, name, email, role, store_id)
       select s.code, s.name, s.email, s.role, st.id from ${stageTable('staff')} s left join stores st on st.code = s.store order by s.line
       on conflict (code) do update set ${assignments(cols)} where ${changed('staff', cols)}`,
      staged,
    );
  },
};

export const products: ImportKind = {
  name: 'products',
  tables: ['products'],
  required: ['sku', 'name', 'category', 'price'],
  optional: ['unit_cost', 'repurchase_cycle_days'],
  key: ['sku'],
  schema: () =>
    z.object({
      sku: requiredText(100),
      name: requiredText(),
      category: requiredText(200),
      price: money({ required: true, min: 0 }),
      unit_cost: money({ min: 0 }),
      repurchase_cycle_days: integer({ min: 1, max: 36500 }),
    }),
  stage: [
    ['sku', 'text'],
    ['name', 'text'],
    ['category', 'text'],
    ['price', 'numeric(14,2)'],
    ['unit_cost', 'numeric(14,2)'],
    ['repurchase_cycle_days', 'integer'],
  ],
  references: [],
  write: (tx, staged) => {
    const cols = ['name', 'category', 'price', 'unit_cost', 'repurchase_cycle_days'];
    return countUpsert(
      tx,
      `insert into products (sku, ${cols.join(', ')}) select sku, ${cols.join(', ')} from ${stageTable('products')} order by line
       on conflict (sku) do update set ${assignments(cols)}, updated_at = now() where ${changed('products', cols)}`,
      staged,
    );
  },
};
