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

/** The header of every demo CSV file, in column order; the importer consumes exactly these. */
export const DEMO_COLUMNS: Readonly<Record<DemoFile, readonly string[]>> = {
  stores: ['code', 'name', 'timezone'],
  staff: ['code', 'name', 'email', 'role', 'store'],
  products: ['sku', 'name', 'category', 'price', 'unit_cost', 'repurchase_cycle_days'],
  customers: [
    'external_id',
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
    'custom.favourite_author',
    'custom.member_card',
  ],
  orders: [
    'order_id',
    'customer_id',
    'store',
    'ordered_at',
    'currency',
    'line_no',
    'sku',
    'quantity',
    'unit_price',
  ],
  returns: ['return_id', 'customer_id', 'order_id', 'sku', 'quantity', 'amount', 'returned_at', 'reason'],
  touches: [
    'touch_id',
    'customer_id',
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
  interactions: [
    'interaction_id',
    'customer_id',
    'kind',
    'channel',
    'status',
    'subject',
    'body',
    'store',
    'owner',
    'duration_seconds',
    'opened_at',
    'first_response_at',
    'resolved_at',
  ],
  preferences: [
    'preference_id',
    'customer_id',
    'key',
    'value',
    'note',
    'source',
    'store',
    'author',
    'noted_at',
  ],
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
