import { sql } from 'kysely';
import { z } from 'zod';
import { integer, money, optionalText, requiredText, timestamp } from '../fields.ts';
import { assignments, changed, countUpsert, type ImportKind, reference, stageTable } from '../kind.ts';

const stage = stageTable('orders');

/**
 * Orders arrive as one row per order line (the shape POS exports have); the lines of one order share
 * order_id, customer_id, store, ordered_at and currency. Order totals are the sum of their lines.
 */
export const orders: ImportKind = {
  name: 'orders',
  tables: ['orders', 'order_lines'],
  derived: ['customer_category_facts'],
  required: ['order_id', 'customer_id', 'ordered_at', 'sku', 'quantity', 'unit_price'],
  optional: ['store', 'currency', 'line_no', 'amount'],
  key: ['order_id', 'line_no'],
  groupBy: 'order_id',
  schema: (timeZone) =>
    z.object({
      order_id: requiredText(200),
      customer_id: requiredText(200),
      store: optionalText(100),
      ordered_at: timestamp(timeZone, { required: true }),
      currency: optionalText(3)
        .transform((v) => v?.toUpperCase() ?? null)
        .refine((v) => v === null || /^[A-Z]{3}$/.test(v), 'is not a currency code (e.g. JPY)'),
      line_no: integer({ min: 1, max: 100000 }),
      sku: requiredText(100),
      quantity: integer({ required: true, min: 1, max: 1000000 }),
      unit_price: money({ required: true, min: 0 }),
      amount: money(),
    }),
  stage: [
    ['order_id', 'text'],
    ['customer_id', 'text'],
    ['store', 'text'],
    ['ordered_at', 'timestamptz'],
    ['currency', 'text'],
    ['line_no', 'integer'],
    ['sku', 'text'],
    ['quantity', 'integer'],
    ['unit_price', 'numeric(14,2)'],
    ['amount', 'numeric(14,2)'],
  ],
  references: [
    reference(
      'orders',
      'customer_id',
      'customer_id',
      'customers',
      'external_id',
      'customer',
      `insert into customers (external_id, acquisition_source) select distinct customer_id, 'import' from ${stage} on conflict do nothing`,
    ),
    reference(
      'orders',
      'sku',
      'sku',
      'products',
      'sku',
      'product',
      `insert into products (sku, name, category, price)
       select distinct on (sku) sku, sku, 'uncategorised', unit_price from ${stage} order by sku, line on conflict do nothing`,
    ),
    reference(
      'orders',
      'store',
      'store',
      'stores',
      'code',
      'store',
      `insert into stores (code, name) select distinct store, store from ${stage} where store is not null on conflict do nothing`,
    ),
  ],
  consistency: [
    {
      field: 'order_id',
      rows: sql`select line, order_id as value,
          'the lines of order ' || order_id || ' disagree on customer, store, time or currency (see line ' || first_line || ')' as reason
        from (select s.line, s.order_id,
                     first_value(s.line) over w as first_line,
                     (s.customer_id, s.store, s.ordered_at, s.currency) is distinct from
                       (first_value(s.customer_id) over w, first_value(s.store) over w,
                        first_value(s.ordered_at) over w, first_value(s.currency) over w) as differs
              from ${sql.table(stage)} s
              window w as (partition by s.order_id order by s.line)) lines
        where differs`,
    },
    {
      field: 'customer_id',
      rows: sql`select s.line, s.customer_id as value,
          'order ' || s.order_id || ' already belongs to another customer' as reason
        from ${sql.table(stage)} s join orders o on o.external_id = s.order_id join customers c on c.id = o.customer_id
        where c.external_id is distinct from s.customer_id`,
    },
  ],
  async write(tx, staged) {
    const headerCols = ['store_id', 'ordered_at', 'currency'];
    const headers = await countUpsert(
      tx,
      `insert into orders (customer_id, external_id, store_id, ordered_at, currency)
       select distinct on (s.order_id) c.id, s.order_id, st.id, s.ordered_at, coalesce(s.currency, 'JPY')
       from ${stage} s join customers c on c.external_id = s.customer_id left join stores st on st.code = s.store
       order by s.order_id, s.line
       on conflict (external_id) do update set ${assignments(headerCols)} where ${changed('orders', headerCols)}`,
      0,
    );
    const lineCols = ['product_id', 'quantity', 'unit_price', 'amount'];
    const lines = await countUpsert(
      tx,
      `insert into order_lines (customer_id, order_id, line_no, product_id, quantity, unit_price, amount)
       select o.customer_id, o.id, s.line_no, p.id, s.quantity, s.unit_price, coalesce(s.amount, s.quantity * s.unit_price)
       from ${stage} s join orders o on o.external_id = s.order_id join products p on p.sku = s.sku
       on conflict (customer_id, order_id, line_no) do update set ${assignments(lineCols)}
       where ${changed('order_lines', lineCols)}`,
      staged,
    );
    // Totals from all lines of the orders this batch touched (found through the primary key, never a scan).
    await sql`update orders o set total = t.total
      from (select l.customer_id, l.order_id, sum(l.amount) as total
            from (select distinct o2.customer_id, o2.id from ${sql.table(stage)} s
                  join orders o2 on o2.external_id = s.order_id) k
            join order_lines l on l.customer_id = k.customer_id and l.order_id = k.id
            group by l.customer_id, l.order_id) t
      where o.customer_id = t.customer_id and o.id = t.order_id and o.total is distinct from t.total`.execute(
      tx.db,
    );
    return { ...lines, extra: { orders_inserted: headers.inserted, orders_updated: headers.updated } };
  },
};
