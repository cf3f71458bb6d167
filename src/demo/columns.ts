import { IMPORT_KINDS, type KindName } from '../importer/index.ts';

/** One CSV record: column name → value, every value a string, '' for empty. */
export type Row = Record<string, string>;

export type DemoFile =
  | 'stores'
  | 'staff'
  | 'products'
  | 'customers'
  | 'orders'
  | 'returns'
  | 'touches'
  | 'interactions'
  | 'preferences'
  | 'latent';

/** An import kind's columns (required, then optional) — the importer's definitions are the one source. */
function importColumns(kind: KindName, options: { omit?: string[]; extra?: string[] } = {}): string[] {
  const { required, optional } = IMPORT_KINDS[kind];
  return [...required, ...optional].filter((c) => !options.omit?.includes(c)).concat(options.extra ?? []);
}

/** The header of every demo CSV file, in column order; the importer consumes exactly these. */
export const DEMO_COLUMNS: Readonly<Record<DemoFile, readonly string[]>> = {
  stores: importColumns('stores'),
  staff: importColumns('staff'),
  products: importColumns('products'),
  customers: importColumns('customers', { extra: ['custom.favourite_author', 'custom.member_card'] }),
  orders: importColumns('orders', { omit: ['amount'] }),
  returns: importColumns('returns'),
  touches: importColumns('touches'),
  interactions: importColumns('interactions'),
  preferences: importColumns('preferences'),
  // The per-customer truth; see latentRow in generate.ts for each column's meaning.
  latent: [
    'external_id',
    'acquired_at',
    't_weeks',
    'lambda',
    'p',
    'nu',
    'mean_spend',
    'alive_at_as_of',
    'dropout_week',
    'bgnbd_orders',
    'bgnbd_repeat_purchases',
    'bgnbd_last_purchase_week',
    'z_mean',
    'realised_mean',
    'lens_orders',
    'glasses_orders',
    'cycle_order_ids',
    'expected_purchases_52w',
    'affinity',
    'interests',
    'duplicate_of',
  ],
};

export const DEMO_FILES: readonly DemoFile[] = Object.keys(DEMO_COLUMNS) as DemoFile[];
