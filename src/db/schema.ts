import type { ColumnType, Generated } from 'kysely';

/** numeric(14,2): read as an exact decimal string, written as a number or string. */
type Money = ColumnType<string, string | number, string | number>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** jsonb with a default: optional on insert. */
type Json = ColumnType<
  Record<string, unknown>,
  string | Record<string, unknown> | undefined,
  string | Record<string, unknown>
>;

export type Role = 'owner' | 'manager' | 'marketer' | 'store_staff' | 'service_agent';
export type ConsentChannel = 'email' | 'sms' | 'phone' | 'letter';
export type TouchChannel = 'email' | 'letter' | 'dm' | 'newsletter' | 'step_mail' | 'phone' | 'sms';
export type InteractionKind = 'inquiry' | 'request' | 'complaint' | 'suggestion' | 'call';
export type InteractionChannel = 'phone' | 'email' | 'store' | 'web' | 'letter';
export type InteractionStatus = 'new' | 'open' | 'waiting' | 'resolved' | 'closed';
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';
export type TicketMessageKind = 'customer_message' | 'public_reply' | 'internal_note';
export type FollowUpState = 'due' | 'done' | 'cancelled';
export type PreferenceSource = 'staff' | 'inferred' | 'customer';

export type StoresTable = {
  id: Generated<number>;
  code: string;
  name: string;
  timezone: Generated<string>;
  created_at: CreatedAt;
};

export type StaffTable = {
  id: Generated<number>;
  code: string;
  name: string;
  email: string | null;
  role: Role;
  store_id: number | null;
  created_at: CreatedAt;
  password_hash: string | null;
  must_change_password: Generated<boolean>;
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  all_stores: Generated<boolean>;
  disabled_at: Timestamp | null;
  last_login_at: Timestamp | null;
};

export type StaffStoresTable = { staff_id: number; store_id: number };

export type SessionsTable = {
  id_hash: string;
  staff_id: number;
  csrf_token: string;
  created_at: CreatedAt;
  last_seen_at: CreatedAt;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
  revoked_at: Timestamp | null;
};

export type ApiTokensTable = {
  id: Generated<number>;
  name: string;
  token_hash: string;
  prefix: string;
  role: Role;
  store_ids: ColumnType<number[], number[] | undefined, number[]>;
  all_stores: Generated<boolean>;
  created_by_staff_id: number | null;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
};

export type ActorKind = 'staff' | 'token' | 'cli' | 'system' | 'anonymous';
export type AuditOutcome = 'ok' | 'denied' | 'failed';

export type AuditLogTable = {
  id: Generated<number>;
  at: CreatedAt;
  actor_kind: ActorKind;
  actor_staff_id: number | null;
  actor_token_id: number | null;
  actor_name: string | null;
  action: string;
  outcome: AuditOutcome;
  status: number | null;
  customer_id: number | null;
  target: string | null;
  ip: string | null;
  detail: Json;
};

export type SettingsTable = {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: CreatedAt;
  updated_by_staff_id: number | null;
};

export type CustomersTable = {
  id: Generated<number>;
  external_id: string | null;
  name: string | null;
  name_kana: string | null;
  email: string | null;
  phone: string | null;
  postal_code: string | null;
  address: string | null;
  birth_date: string | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  custom_fields: Json;
  acquisition_source: string | null;
  referred_by_customer_id: number | null;
  account_owner_staff_id: number | null;
  home_store_id: number | null;
  do_not_contact: Generated<boolean>;
  merged_into_customer_id: number | null;
  erased_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
};

export type ConsentsTable = {
  customer_id: number;
  id: Generated<number>;
  channel: ConsentChannel;
  granted: boolean;
  recorded_at: CreatedAt;
  source: string;
};

export type ProductsTable = {
  id: Generated<number>;
  sku: string;
  name: string;
  category: string;
  price: Money;
  unit_cost: Money | null;
  repurchase_cycle_days: number | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
};

export type OrdersTable = {
  customer_id: number;
  id: Generated<number>;
  external_id: string;
  store_id: number | null;
  ordered_at: Timestamp;
  currency: Generated<string>;
  total: ColumnType<string, string | number | undefined, string | number>;
  created_at: CreatedAt;
};

export type OrderLinesTable = {
  customer_id: number;
  order_id: number;
  line_no: number;
  product_id: number;
  quantity: number;
  unit_price: Money;
  amount: Money;
};

export type ReturnsTable = {
  customer_id: number;
  id: Generated<number>;
  external_id: string;
  order_id: number | null;
  product_id: number;
  quantity: number;
  amount: Money;
  returned_at: Timestamp;
  reason: string | null;
};

export type TouchesTable = {
  customer_id: number;
  id: Generated<number>;
  external_id: string | null;
  channel: TouchChannel;
  campaign: string | null;
  flow: string | null;
  variant: string | null;
  subject: string | null;
  cost: ColumnType<string, string | number | undefined, string | number>;
  sent_at: Timestamp;
  delivered_at: Timestamp | null;
  opened_at: Timestamp | null;
  clicked_at: Timestamp | null;
  bounced_at: Timestamp | null;
  campaign_id: number | null;
};

export type InteractionsTable = {
  customer_id: number;
  id: Generated<number>;
  external_id: string | null;
  kind: InteractionKind;
  channel: InteractionChannel;
  status: Generated<InteractionStatus>;
  subject: string | null;
  body: string | null;
  store_id: number | null;
  owner_staff_id: number | null;
  duration_seconds: number | null;
  opened_at: Timestamp;
  first_response_at: Timestamp | null;
  resolved_at: Timestamp | null;
  priority: Generated<TicketPriority>;
  team_id: number | null;
};

export type TeamsTable = {
  id: Generated<number>;
  name: string;
  created_at: CreatedAt;
};

export type TeamMembersTable = {
  team_id: number;
  staff_id: number;
};

/** An attachment kept as a reference: the content itself is not stored in the database. */
export type AttachmentRef = { name: string; type: string | null; size: number | null; url: string | null };

export type TicketMessagesTable = {
  customer_id: number;
  interaction_id: number;
  id: Generated<number>;
  kind: TicketMessageKind;
  author_staff_id: number | null;
  author_name: string | null;
  from_address: string | null;
  subject: string | null;
  body: string | null;
  attachments: ColumnType<AttachmentRef[], string | undefined, string>;
  message_id: string | null;
  in_reply_to: string | null;
  delivery: 'sent' | 'failed' | null;
  delivery_error: string | null;
  created_at: CreatedAt;
};

export type TicketStatusChangesTable = {
  customer_id: number;
  interaction_id: number;
  id: Generated<number>;
  from_status: InteractionStatus | null;
  to_status: InteractionStatus;
  changed_by_staff_id: number | null;
  changed_at: CreatedAt;
};

export type FollowUpsTable = {
  customer_id: number;
  id: Generated<number>;
  interaction_id: number;
  due_at: Timestamp;
  prompt: string;
  state: Generated<FollowUpState>;
  assignee_staff_id: number | null;
  answer: string | null;
  answered_by_staff_id: number | null;
  answered_at: Timestamp | null;
  created_at: CreatedAt;
};

export type CsatResponsesTable = {
  customer_id: number;
  interaction_id: number;
  score: number;
  comment: string | null;
  agent_staff_id: number | null;
  answered_at: CreatedAt;
};

/** hours: weekday '0'–'6' → [['09:00', '18:00'], …]; holidays as 'YYYY-MM-DD' (read with ::text[]). */
export type BusinessCalendarsTable = {
  id: Generated<number>;
  name: string;
  timezone: string;
  hours: Json;
  holidays: ColumnType<string[], string[] | undefined, string[]>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
};

export type SlaPoliciesTable = {
  id: Generated<number>;
  name: string;
  calendar_id: number;
  kinds: InteractionKind[] | null;
  priorities: TicketPriority[] | null;
  tiers: string[] | null;
  store_ids: number[] | null;
  precedence: Generated<number>;
  first_response_minutes: number | null;
  next_response_minutes: number | null;
  resolution_minutes: number | null;
  /** numeric(5,4), read as a string. */
  near_breach_share: ColumnType<string, string | number | undefined, string | number>;
  near_breach_minutes: number | null;
  active: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
};

export type SlaEscalationsTable = {
  customer_id: number;
  id: Generated<number>;
  interaction_id: number;
  policy_id: number | null;
  clock: 'first_response' | 'next_response' | 'resolution';
  clock_started_at: Timestamp;
  breached_at: Timestamp;
  store_id: number | null;
  assignee_staff_id: number | null;
  notified_staff_id: number | null;
  notified_at: Timestamp;
  acknowledged_at: Timestamp | null;
  acknowledged_by_staff_id: number | null;
};

export type PreferencesTable = {
  customer_id: number;
  id: Generated<number>;
  external_id: string | null;
  key: string | null;
  value: string | null;
  note: string | null;
  source: Generated<PreferenceSource>;
  store_id: number | null;
  author_staff_id: number | null;
  noted_at: CreatedAt;
  obsolete_at: Timestamp | null;
  obsoleted_by_staff_id: number | null;
  obsolete_reason: string | null;
};

export type ClvModelsTable = {
  id: Generated<number>;
  purchase_model: 'bgnbd' | 'pareto_nbd';
  time_unit: 'days' | 'weeks';
  calibration_end: string;
  customers: number;
  purchase_params: Json;
  purchase_report: Json;
  spend_params: ColumnType<
    Record<string, unknown> | null,
    string | Record<string, unknown> | null | undefined,
    string | Record<string, unknown> | null
  >;
  spend_report: ColumnType<
    Record<string, unknown> | null,
    string | Record<string, unknown> | null | undefined,
    string | Record<string, unknown> | null
  >;
  fitted_at: CreatedAt;
};

export type CustomerClvTable = {
  customer_id: number;
  model_id: number;
  frequency: number;
  recency: number;
  age: number;
  probability_alive: number;
  expected_purchases_next_year: number;
  expected_spend: string | null;
  clv: string | null;
  computed_at: CreatedAt;
};

export type ClvEquityHistoryTable = {
  id: Generated<number>;
  model_id: number;
  computed_at: CreatedAt;
  customers: number;
  equity: Money;
};

export type Tier = 'loyal' | 'semi_loyal' | 'regular' | 'new' | 'lapsed';

export type CustomerMeasuresTable = {
  customer_id: number;
  as_of: string;
  first_purchase_at: Date | null;
  last_purchase_at: Date | null;
  orders_count: number;
  purchase_days: number;
  tenure_days: number | null;
  total_spend: Money;
  average_order_value: Money | null;
  gross_margin: Money;
  returns_amount: Money;
  recency_days: number | null;
  /** Computed by the view (migration 022): an insert must leave r_score, rfm_cell and rfm_group out. */
  r_score: number | null;
  f_score: number | null;
  m_score: number | null;
  rfm_cell: string | null;
  rfm_group: string | null;
  tier: Tier | null;
  refreshed_at: CreatedAt;
};

export type TierSnapshotsTable = {
  period_end: string;
  customer_id: number;
  tier: Tier;
  total_spend: Money;
  orders_count: number;
  tenure_days: number;
};

export type MeasuresRefreshesTable = {
  id: Generated<number>;
  as_of: string;
  mode: 'full' | 'incremental';
  settings: string;
  customers: number;
  recomputed: number;
  seconds: number;
  steps: unknown;
  /** measures_rows_version after this refresh's writes (null before migration 019). */
  rows_version: string | null;
  /**
   * The four day numbers (days since 1970-01-01) a last purchase day must reach for a recency score of
   * 2, 3, 4, 5; sorted. The view customer_measures scores recency with the last refresh's (migration 022).
   */
  recency_points: number[] | null;
  finished_at: CreatedAt;
};

/** The cut points of a month's refreshes and snapshot, fixed by the first (migration 023). */
export type MeasuresCutPointsTable = {
  /** The month's first day. */
  month: string;
  /** The measures settings (JSON) they were computed with. */
  settings: string;
  /** The day whose buyers they were computed from. */
  as_of: string;
  cut_points: unknown;
  computed_at: CreatedAt;
};

export type MeasuresDirtyCustomersTable = { customer_id: number };

export type SegmentsTable = {
  id: Generated<number>;
  name: string;
  description: string | null;
  rules: ColumnType<unknown, string, string>;
  owner_staff_id: number | null;
  owner_name: string;
  created_at: CreatedAt;
  updated_at: CreatedAt;
};

export type SegmentSizesTable = {
  id: Generated<number>;
  segment_id: number;
  as_of: Timestamp;
  members: number;
  store_ids: number[] | null;
  measured_at: CreatedAt;
};

export type SegmentSnapshotsTable = {
  id: Generated<number>;
  segment_id: number;
  rules: ColumnType<unknown, string, string>;
  as_of: Timestamp;
  store_ids: number[] | null;
  members: number;
  taken_by_staff_id: number | null;
  taken_by_name: string;
  taken_at: CreatedAt;
};

export type SegmentSnapshotMembersTable = { customer_id: number; snapshot_id: number };

export type CampaignChannel = 'email' | 'letter' | 'phone' | 'newsletter';
export type CampaignPurpose = 'marketing' | 'follow_up' | 'sales';
export type CampaignStatus = 'draft' | 'assigned' | 'sending' | 'sent' | 'cancelled';
export type RecipientState =
  | 'pending'
  | 'sending'
  | 'sent'
  | 'suppressed'
  | 'failed'
  | 'bounced'
  | 'held_out';
type Optional<T> = ColumnType<T, T | undefined, T>;

export type CampaignsTable = {
  id: Generated<number>;
  name: string;
  description: string | null;
  channel: CampaignChannel;
  purpose: Optional<CampaignPurpose>;
  goal_kind: Optional<'any' | 'product' | 'category'>;
  goal_product_ids: Optional<number[]>;
  goal_category: string | null;
  goal_window_days: Optional<number>;
  segment_id: number | null;
  snapshot_id: number | null;
  holdout_share: ColumnType<string, string | number | undefined, string | number>;
  seed: Optional<number>;
  cost_per_touch: ColumnType<string, string | number | undefined, string | number>;
  budget: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  scheduled_at: Timestamp | null;
  previous_campaign_id: number | null;
  status: Optional<CampaignStatus>;
  fallback_channel: 'email' | null;
  content: Json;
  created_by_staff_id: number | null;
  created_by_name: string;
  created_at: CreatedAt;
  assigned_at: Timestamp | null;
  send_started_at: Timestamp | null;
  sent_at: Timestamp | null;
};

export type CampaignVariantsTable = {
  campaign_id: number;
  code: string;
  name: string | null;
  weight: Optional<number>;
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  offer: string | null;
  content: Json;
};

export type CampaignRecipientsTable = {
  customer_id: number;
  campaign_id: number;
  variant: string | null;
  holdout: Optional<boolean>;
  stratum: string | null;
  channel: CampaignChannel | null;
  state: Optional<RecipientState>;
  reason: string | null;
  attempts: Optional<number>;
  message_id: string | null;
  touch_id: number | null;
  claimed_at: Timestamp | null;
  sent_at: Timestamp | null;
};

export type FlowEnrollmentState =
  | 'active'
  | 'completed'
  | 'goal'
  | 'exited'
  | 'held_out'
  | 'superseded'
  | 'cancelled';
export type FlowJobState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export type FlowsTable = {
  id: Generated<number>;
  name: string;
  description: string | null;
  builtin: string | null;
  enabled: Optional<boolean>;
  current_version: Optional<number>;
  enabled_at: Timestamp | null;
  scanned_until: Timestamp | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
};

export type FlowVersionsTable = {
  flow_id: number;
  version: number;
  definition: ColumnType<unknown, string, string>;
  created_by_staff_id: number | null;
  created_by_name: string;
  created_at: CreatedAt;
};

export type FlowEnrollmentsTable = {
  customer_id: number;
  id: Generated<number>;
  flow_id: number;
  version: number;
  occurrence: string;
  holdout: Optional<boolean>;
  state: Optional<FlowEnrollmentState>;
  step_index: number | null;
  trigger_data: Json;
  entered_at: Timestamp;
  finished_at: Timestamp | null;
  exit_reason: string | null;
};

export type FlowJobsTable = {
  customer_id: number;
  id: Generated<number>;
  enrollment_id: number;
  step_index: number;
  due_at: Timestamp;
  state: Optional<FlowJobState>;
  attempts: Optional<number>;
  locked_by: string | null;
  locked_until: Timestamp | null;
  last_error: string | null;
  finished_at: Timestamp | null;
};

export type FlowStepEventsTable = {
  customer_id: number;
  id: Generated<number>;
  enrollment_id: number;
  flow_id: number;
  version: number;
  step_index: number | null;
  kind: string;
  outcome: string;
  reason: string | null;
  touch_id: number | null;
  at: Timestamp;
};

export type FlowTasksTable = {
  customer_id: number;
  id: Generated<number>;
  enrollment_id: number;
  flow_id: number;
  title: string;
  prompt: string | null;
  purpose: Optional<'follow_up'>;
  assignee_staff_id: number | null;
  due_at: Timestamp;
  state: Optional<'open' | 'done' | 'cancelled'>;
  outcome: string | null;
  done_by_staff_id: number | null;
  done_at: Timestamp | null;
  created_at: Timestamp;
};

export type FlowEventsTable = {
  customer_id: number;
  id: Generated<number>;
  name: string;
  data: Json;
  occurred_at: Timestamp;
  received_at: CreatedAt;
};

export type FlowSegmentMembersTable = { flow_id: number; customer_id: number };

/** The typed schema Kysely checks every query against. */
export type Schema = {
  stores: StoresTable;
  staff: StaffTable;
  customers: CustomersTable;
  consents: ConsentsTable;
  products: ProductsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  returns: ReturnsTable;
  touches: TouchesTable;
  interactions: InteractionsTable;
  preferences: PreferencesTable;
  clv_models: ClvModelsTable;
  customer_clv: CustomerClvTable;
  clv_equity_history: ClvEquityHistoryTable;
  customer_measures: CustomerMeasuresTable;
  tier_snapshots: TierSnapshotsTable;
  measures_refreshes: MeasuresRefreshesTable;
  measures_cut_points: MeasuresCutPointsTable;
  measures_dirty_customers: MeasuresDirtyCustomersTable;
  segments: SegmentsTable;
  segment_sizes: SegmentSizesTable;
  segment_snapshots: SegmentSnapshotsTable;
  segment_snapshot_members: SegmentSnapshotMembersTable;
  campaigns: CampaignsTable;
  campaign_variants: CampaignVariantsTable;
  campaign_recipients: CampaignRecipientsTable;
  flows: FlowsTable;
  flow_versions: FlowVersionsTable;
  flow_enrollments: FlowEnrollmentsTable;
  flow_jobs: FlowJobsTable;
  flow_step_events: FlowStepEventsTable;
  flow_tasks: FlowTasksTable;
  flow_events: FlowEventsTable;
  flow_segment_members: FlowSegmentMembersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  ticket_messages: TicketMessagesTable;
  ticket_status_changes: TicketStatusChangesTable;
  follow_ups: FollowUpsTable;
  csat_responses: CsatResponsesTable;
  business_calendars: BusinessCalendarsTable;
  sla_policies: SlaPoliciesTable;
  sla_escalations: SlaEscalationsTable;
  staff_stores: StaffStoresTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
};
