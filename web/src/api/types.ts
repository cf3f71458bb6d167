// What the server answers (the OpenAPI document types the requests; these mirror the answers of the
// routes in src/api/*.routes.ts that the app reads).

export type Role = 'owner' | 'manager' | 'marketer' | 'store_staff' | 'service_agent';

export type Staff = {
  id: number;
  code: string;
  name: string;
  email: string | null;
  role: Role;
  storeId: number | null;
  storeIds: number[];
  allStores: boolean;
  mustChangePassword: boolean;
};

export type SessionAnswer = { staff: Staff | null; csrfToken: string | null };
export type SignInAnswer = { staff: Staff; csrfToken: string; expiresAt: string };

export type StoreRef = { id: number; code: string; name: string };

export type CustomerSummary = {
  id: number;
  external_id: string | null;
  name: string;
  name_kana: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  home_store: StoreRef | null;
  do_not_contact: boolean;
};
export type CustomerSearch = { customers: CustomerSummary[]; nextCursor: string | null };

export type Consent = { channel: string; granted: boolean; recorded_at: string; source: string | null };

export type CustomerRecord = CustomerSummary & {
  postal_code: string | null;
  address: string | null;
  birth_date: string | null;
  custom_fields: Record<string, unknown>;
  acquisition_source: string | null;
  created_at: string;
  account_owner: { id: number; name: string } | null;
  consents: Consent[];
  erased: boolean;
};

export type Measures = {
  computed: boolean;
  as_of?: string;
  tier?: string | null;
  r_score?: number | null;
  f_score?: number | null;
  m_score?: number | null;
  rfm_cell?: string | null;
  rfm_group?: string | null;
  total_spend?: string;
  gross_margin?: string;
  average_order_value?: string | null;
  recency_days?: number | null;
  orders_count?: number;
  tenure_days?: number | null;
};

export type LifetimeValue = {
  clv: string;
  expected_spend: string;
  expected_purchases_next_year: number;
  probability_alive: number;
  computed_at: string;
} | null;

export type TimelineEvent = { kind: string; at: string; id: number } & Record<string, unknown>;

export type PreferenceNote = {
  id: number;
  key: string | null;
  value: string | null;
  note: string | null;
  source: string;
  noted_at: string;
  author: { id: number; name: string } | null;
  store: StoreRef | null;
  obsolete: boolean;
  obsolete_at: string | null;
  obsolete_reason: string | null;
};

export type OpenInteraction = {
  id: number;
  interaction_kind: string;
  channel: string;
  status: string;
  subject: string | null;
  body: string | null;
  bodyRedacted: boolean;
  store: StoreRef | null;
  owner: { id: number; name: string } | null;
  opened_at: string;
  first_response_at: string | null;
};

export type FollowUpPrompt = {
  interaction_id: number;
  interaction_kind: string;
  subject: string | null;
  status: string;
  opened_at: string;
  resolved_at: string | null;
  store: StoreRef | null;
  prompt: string;
};

export type Customer360 = {
  customer: CustomerRecord;
  measures: Measures;
  lifetime_value: LifetimeValue;
  purchases: {
    first_purchase_at: string | null;
    last_purchase_at: string | null;
    orders_count: number;
    total_spend: string;
    returns_amount: string;
    favourite_categories: { category: string; spend: string; share: number }[];
  };
  timeline: { events: TimelineEvent[]; has_more: boolean };
  open_interactions: OpenInteraction[];
  follow_ups: FollowUpPrompt[];
  preference_notes: PreferenceNote[];
  complaint_text_hidden: boolean;
};

export type ParetoReport = {
  customers: number;
  revenue: string;
  curve: { customerShare: number; revenueShare: number }[];
  topShares?: { top1: number; top5: number; top10: number; top20: number };
  customersFor80PercentOfRevenue?: number;
};

export type Equity = {
  customers: number;
  equity: string;
  computedAt: string | null;
  previous: { equity: string; computedAt: string } | null;
  change: string | null;
};

export type RuleNode =
  | { op: 'and' | 'or'; children: RuleNode[] }
  | { op: 'not'; child: RuleNode }
  | ({ kind: string } & Record<string, unknown>);

export type ConditionParameter = {
  name: string;
  type: string;
  items?: string;
  required: boolean;
  description?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  values?: 'categories' | 'stores' | 'acquisitionSources' | 'tags' | 'products';
};
export type ConditionDescription = {
  kind: string;
  label: string;
  description: string;
  parameters: ConditionParameter[];
};
export type ConditionValues = {
  tiers: string[];
  rfmGroups: string[];
  categories: string[];
  stores: StoreRef[];
  acquisitionSources: string[];
  tags: { tag: string; customers: number }[];
};
export type ConditionRegistry = { conditions: ConditionDescription[]; values: ConditionValues };

export type SegmentMember = {
  id: number;
  external_id: string | null;
  name: string;
  home_store_id: number | null;
  tier: string | null;
  rfm_cell: string | null;
  orders_count: number;
  total_spend: string;
  last_purchase_at: string | null;
  clv: string | null;
  probability_alive: number | null;
};
export type SegmentPreview = { customers: SegmentMember[]; nextAfter: number | null };
export type SavedSegment = { id: number; name: string; description: string | null } & Record<string, unknown>;

export type CampaignSummary = {
  id: number;
  name: string;
  channel: string;
  purpose: string;
  status: string;
  previousCampaignId: number | null;
  createdAt: string;
  sentAt: string | null;
};
export type CampaignVariant = {
  code: string;
  name: string | null;
  weight: number;
  subject: string | null;
  bodyText: string | null;
  offer: string | null;
};
export type Campaign = CampaignSummary & {
  description: string | null;
  segmentId: number | null;
  snapshotId: number | null;
  holdoutShare: number;
  costPerTouch: string;
  budget: string | null;
  assignedAt: string | null;
  variants: CampaignVariant[];
  recipients: Record<string, number>;
};
export type CampaignAssignment = {
  snapshotId: number;
  members: number;
  holdout: number;
  byVariant: Record<string, number>;
};
export type CampaignPreview = {
  recipients: number;
  holdout: number;
  reach: Record<string, number>;
  excluded: Record<string, number>;
  excludedCustomers: { customerId: number; name: string; tier: string | null; reasons: string[] }[];
  cost: { channel: string; touches: number; costPerTouch: string; cost: string }[];
  totalCost: string;
  budget: string | null;
  overBudget: boolean;
};
export type Interval = { rate: number; lower: number; upper: number };
export type CampaignArm = {
  variant: string | null;
  name: string | null;
  assigned: number;
  recipients: number;
  suppressed: number;
  responders: number;
  responseRate: Interval;
  revenue: string;
  cost: string;
  profitAfterCost: string;
  vsHoldout: {
    difference: number;
    lower: number;
    upper: number;
    relativeLift: number | null;
    pValue: number;
  } | null;
};
export type CampaignReport = {
  campaign: { id: number; name: string; channel: string; status: string };
  attribution: string;
  confidence: number;
  arms: CampaignArm[];
  treated: CampaignArm;
  winner: { variant: string | null; reason: string; provisional: boolean } | null;
  notes: string[];
};
export type CaughtMail = { id: number; to: string; subject: string; date: string; text: string };
