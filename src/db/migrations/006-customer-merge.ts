import { type Kysely, sql } from 'kysely';

// Hiragana U+3041–U+3096 and the katakana at the same offsets (U+30A1–U+30F6): kana typed either way
// ("やまだ", "ヤマダ") finds the same customer.
const HIRAGANA = String.fromCodePoint(...Array.from({ length: 0x56 }, (_, i) => 0x3041 + i));
const KATAKANA = String.fromCodePoint(...Array.from({ length: 0x56 }, (_, i) => 0x30a1 + i));

/**
 * Customer search and merge (issue #3).
 *
 * Search: pg_trgm is not available in the embedded engine (PGlite ships it only as a separately loaded
 * extension), so names are matched by prefix on a normalised key through btree indexes: NFKC (full-width
 * letters and digits, half-width kana), lower case, hiragana as katakana, spaces removed, so that
 * "山田花子", "山田 花子" and "やまだ" all reach the same rows. A second key starts after the first word, so
 * a given name alone ("花子", "hanako") is found too. `text_pattern_ops` makes LIKE 'prefix%' use the
 * index whatever the database's collation.
 *
 * Merge: order lines and returns reference their order by (customer_id, order_id). With ON UPDATE CASCADE
 * on those keys, moving a customer's orders to another customer is one UPDATE of orders; the lines and
 * returns follow inside the same statement. The constraint names are PostgreSQL's defaults, the same on
 * both engines.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const fromChars = sql.lit(`${HIRAGANA} `);
  const toChars = sql.lit(KATAKANA);
  await sql`
create function customer_search_key(value text) returns text
  language sql immutable parallel safe
  return lower(translate(normalize(value, NFKC), ${fromChars}, ${toChars}));

create function customer_given_name_key(value text) returns text
  language sql immutable parallel safe
  return customer_search_key(substring(normalize(value, NFKC) from '^\\S+\\s+(.+)$'));

create function customer_phone_key(value text) returns text
  language sql immutable parallel safe
  return regexp_replace(normalize(value, NFKC), '\\D', '', 'g');

create index customers_name_search_idx on customers (customer_search_key(name) text_pattern_ops);
create index customers_given_name_search_idx on customers (customer_given_name_key(name) text_pattern_ops);
create index customers_kana_search_idx on customers (customer_search_key(name_kana) text_pattern_ops);
create index customers_given_kana_search_idx on customers (customer_given_name_key(name_kana) text_pattern_ops);
create index customers_email_prefix_idx on customers (lower(email) text_pattern_ops);
create index customers_phone_digits_idx on customers (customer_phone_key(phone) text_pattern_ops);
create index customers_tags_idx on customers using gin (tags);

alter table order_lines
  drop constraint order_lines_customer_id_order_id_fkey,
  add constraint order_lines_customer_id_order_id_fkey
    foreign key (customer_id, order_id) references orders (customer_id, id) on update cascade;
alter table returns
  drop constraint returns_customer_id_order_id_fkey,
  add constraint returns_customer_id_order_id_fkey
    foreign key (customer_id, order_id) references orders (customer_id, id) on update cascade;
`.execute(db);
}
