import { type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import type { ConsentChannel, InteractionKind, InteractionStatus, Tier, TouchChannel } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * The rule tree of a segment: and / or / not groups over conditions. A condition is `{ kind, …params }`;
 * each kind is an entry of a registry (`registerCondition`), so a later module (membership, campaigns)
 * adds its own conditions without touching the compiler or the evaluator.
 */
export type RuleGroup = { op: 'and' | 'or'; children: RuleNode[] };
export type RuleNot = { op: 'not'; child: RuleNode };
export type Condition = { kind: string } & Record<string, unknown>;
export type RuleNode = RuleGroup | RuleNot | Condition;

/**
 * What a condition's SQL may use: the moment relative windows end at, the customer id (`c.id`), and
 * whether any order is dated after asOf. When none is (the usual case: asOf is now), "up to asOf" holds
 * for every order and a purchase condition can leave out the bound — and with it the join from order
 * lines to orders — without changing its result.
 */
export type CompileContext = {
  asOf: Date;
  customerId: RawBuilder<number>;
  ordersAfterAsOf: boolean;
  /**
   * Whether customer_measures' orders_count, total_spend and first / last purchase are exact for every
   * order in the database (a refresh saw them all and nothing changed since): with no order after asOf
   * either, "bought N times" or "last bought before …" can read one row per customer instead of orders.
   */
  measuresCoverOrders: boolean;
  /**
   * Whether a consent is recorded after asOf. When none is, the consent in force at asOf is the one in
   * force now (`consents_in_force`, migration 016), one row per customer and channel.
   */
  consentsAfterAsOf: boolean;
  /**
   * The last measures refresh's recency points (sorted day numbers, measures_refreshes.recency_points), or
   * null when not known. Known, an RFM condition compares the last purchase with them instead of
   * computing every customer's recency score in the view (see the rfm condition).
   */
  recencyPoints: readonly number[] | null;
};

/** One customer's rows, as the in-memory evaluator loads them (deliberately plain arrays). */
export type CustomerRows = {
  customer: {
    id: number;
    tags: string[];
    custom_fields: Record<string, unknown>;
    acquisition_source: string | null;
    account_owner_staff_id: number | null;
    home_store_id: number | null;
    birth_date: string | null;
    do_not_contact: boolean;
    merged_into_customer_id: number | null;
    erased_at: Date | null;
  };
  orders: { id: number; ordered_at: Date; total: string; store_id: number | null }[];
  lines: { order_id: number; product_id: number; sku: string; category: string; amount: string }[];
  consents: { id: number; channel: ConsentChannel; granted: boolean; recorded_at: Date }[];
  touches: {
    channel: TouchChannel;
    campaign: string | null;
    variant: string | null;
    sent_at: Date;
    opened_at: Date | null;
    clicked_at: Date | null;
  }[];
  interactions: {
    kind: InteractionKind;
    status: InteractionStatus;
    opened_at: Date;
    store_id: number | null;
  }[];
  preferences: {
    key: string | null;
    value: string | null;
    note: string | null;
    noted_at: Date;
    obsolete_at: Date | null;
  }[];
  measures: {
    tier: Tier | null;
    rfm_cell: string | null;
    rfm_group: string | null;
    total_spend: string;
    gross_margin: string;
    average_order_value: string | null;
    returns_amount: string;
    orders_count: number;
    purchase_days: number;
    tenure_days: number | null;
    recency_days: number | null;
  } | null;
  clv: {
    clv: string | null;
    expected_spend: string | null;
    probability_alive: number;
    expected_purchases_next_year: number;
  } | null;
};

export type EvaluateContext = { asOf: Date };

/**
 * A condition that is a test of the customer's one row in a one-row-per-customer table (measures as `m`,
 * lifetime value as `v`). Such tests under one and / or group are merged into a single EXISTS: with one
 * row per customer, exists(P) and exists(Q) is exists(P and Q) — one scan instead of one per condition.
 */
export type RowPredicate = { table: 'customer_measures' | 'customer_clv'; predicate: RawBuilder<boolean> };

const ROW_TABLES = {
  customer_measures: sql`customer_measures m where m.customer_id`,
  customer_clv: sql`customer_clv v where v.customer_id`,
};

export function rowExists(row: RowPredicate, customerId: RawBuilder<number>): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from ${ROW_TABLES[row.table]} = ${customerId} and ${row.predicate})`;
}

/**
 * A condition that holds when the customer has at least one row of a table keyed by customer, such as a
 * touch, an interaction or a preference note, that passes a test: `from` is the table with its alias,
 * `customer` that alias's customer_id, `where` the test. It compiles to `exists (…)` for one customer
 * (`rowsExist`); an or-group of such conditions among the top-level conditions is compiled instead as the
 * set of their customers (`rowsCustomers`, joined once: see keyedRowSets in compile.ts).
 */
export type KeyedRows = {
  from: RawBuilder<unknown>;
  customer: RawBuilder<number>;
  where: RawBuilder<boolean>;
};

export function rowsExist(rows: KeyedRows, customerId: RawBuilder<number>): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from ${rows.from} where ${rows.customer} = ${customerId} and ${rows.where})`;
}

/** The customers with such a row, as `select … as customer_id`. */
export function rowsCustomers(rows: KeyedRows): RawBuilder<{ customer_id: number }> {
  return sql`select ${rows.customer} as customer_id from ${rows.from} where ${rows.where}`;
}

/**
 * One kind of condition: its parameters (a zod schema, strict so that a mistyped key is an error), its
 * SQL (a boolean expression on `ctx.customerId`, never NULL, values only as parameters), and its plain
 * in-memory meaning for the independent evaluator that the tests compare the SQL with.
 */
export type ConditionKind<C extends Condition> = {
  kind: C['kind'];
  /** One line for `kizuna segment kinds` and the docs. */
  summary: string;
  /** A short name for a rule builder's menu; by default the kind in words ("last_purchase" → "Last purchase"). */
  label?: string;
  schema: z.ZodType<C>;
  compile(condition: C, ctx: CompileContext): RawBuilder<boolean>;
  /** The condition as a test of one row (see RowPredicate), when it is one in this context. */
  rowPredicate?(condition: C, ctx: CompileContext): RowPredicate | null;
  /** The condition as "has a row of this table that passes a test" (see KeyedRows). */
  keyedRows?(condition: C, ctx: CompileContext): KeyedRows;
  evaluate(condition: C, rows: CustomerRows, ctx: EvaluateContext): boolean;
};

const registry = new Map<string, ConditionKind<Condition>>();

export function registerCondition<C extends Condition>(entry: ConditionKind<C>): void {
  if (registry.has(entry.kind)) throw new Error(`condition kind ${entry.kind} is registered twice`);
  registry.set(entry.kind, entry as unknown as ConditionKind<Condition>);
}

export function conditionKind(kind: string): ConditionKind<Condition> {
  const entry = registry.get(kind);
  if (!entry) throw new Error(`unknown condition kind ${kind}`);
  return entry;
}

export function conditionKinds(): readonly ConditionKind<Condition>[] {
  return [...registry.values()];
}

export const isGroup = (node: RuleNode): node is RuleGroup => node.op === 'and' || node.op === 'or';
export const isNot = (node: RuleNode): node is RuleNot => node.op === 'not';

/** Limits that keep a pasted or generated tree from becoming a denial of service. */
export const MAX_RULE_NODES = 200;
export const MAX_RULE_DEPTH = 12;

type Path = (string | number)[];

/** `['children', 2, 'days']` under `rules` → `rules.children[2].days`. */
export function formatPath(root: string, path: Path): string {
  return path.reduce<string>(
    (text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : `${text}.${segment}`),
    root,
  );
}

class RuleError extends Error {
  constructor(
    readonly path: Path,
    message: string,
  ) {
    super(message);
  }
}

const GroupShape = z.strictObject({
  op: z.enum(['and', 'or']),
  children: z.array(z.unknown()).max(50, 'a group holds at most 50 children'),
});
const NotShape = z.strictObject({ op: z.literal('not'), child: z.unknown() });

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(path: Path, error: z.ZodError): never {
  const issue = error.issues[0]!;
  throw new RuleError(
    [...path, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    issue.message,
  );
}

function checkNode(value: unknown, path: Path, depth: number, seen: { nodes: number }): RuleNode {
  if (++seen.nodes > MAX_RULE_NODES)
    throw new RuleError(path, `a rule tree has at most ${MAX_RULE_NODES} nodes`);
  if (depth > MAX_RULE_DEPTH) throw new RuleError(path, `groups nest at most ${MAX_RULE_DEPTH} deep`);
  if (!isObject(value)) {
    throw new RuleError(path, 'must be an object: a group {"op", "children"} or a condition {"kind", …}');
  }
  if ('op' in value) {
    if (value.op === 'not') {
      const parsed = NotShape.safeParse(value);
      if (!parsed.success) fail(path, parsed.error);
      return { op: 'not', child: checkNode(parsed.data.child, [...path, 'child'], depth + 1, seen) };
    }
    const parsed = GroupShape.safeParse(value);
    if (!parsed.success) fail(path, parsed.error);
    return {
      op: parsed.data.op,
      children: parsed.data.children.map((child, i) =>
        checkNode(child, [...path, 'children', i], depth + 1, seen),
      ),
    };
  }
  if (typeof value.kind !== 'string') {
    throw new RuleError(path, 'needs "op" (and, or, not) for a group or "kind" for a condition');
  }
  const entry = registry.get(value.kind);
  if (!entry) {
    const known = [...registry.keys()].join(', ');
    throw new RuleError(
      [...path, 'kind'],
      `unknown condition kind ${JSON.stringify(value.kind.slice(0, 40))}: use one of ${known}`,
    );
  }
  const parsed = entry.schema.safeParse(value);
  if (!parsed.success) fail(path, parsed.error);
  return parsed.data;
}

/**
 * Validates a rule tree. A mistake is reported with the path of the node and field at fault, e.g.
 * `rules.children[2].withinDays: Too small: expected number to be >=1`, as a 400 `invalid_rules`.
 */
export function parseRules(input: unknown, root = 'rules'): RuleNode {
  try {
    return checkNode(input, [], 0, { nodes: 0 });
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    const field = formatPath(root, error.path);
    throw new KizunaError('invalid_rules', `${field}: ${error.message}`, { field, status: 400 });
  }
}

/** The zod type of a rule tree in a request body (checked further by `parseRules`). */
export const RuleTreeInput = z
  .record(z.string(), z.unknown())
  .describe(
    'a rule tree: a group {"op": "and"|"or", "children": […]}, {"op": "not", "child": …} or a condition {"kind": …} (docs/segments.md)',
  );

// Shared parameter schemas.
export const days = z.number().int().min(1).max(36_500);
export const ids = z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(1000);
export const texts = z.array(z.string().min(1).max(200)).min(1).max(100);
/** Money in yen with at most two decimals, so that the SQL (exact numeric) and the evaluator agree. */
export const money = z
  .number()
  .min(-1e12)
  .max(1e12)
  .refine((x) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-6, 'at most two decimals');

/** Start of the window "in the last N days" ending at asOf: times after it and up to asOf are inside. */
export const windowStart = (asOf: Date, withinDays: number): Date =>
  new Date(asOf.getTime() - withinDays * 86_400_000);

/** Exact decimal text → integer cents (amounts are numeric(14,2)). */
export const cents = (value: string | number): number => Math.round(Number(value) * 100);

/**
 * Where a rule builder finds the values a parameter takes, when they are not a fixed enum of the schema:
 * the catalog's categories, the stores, the acquisition sources and tags in use, products by search.
 */
export type ValueList = 'categories' | 'stores' | 'acquisitionSources' | 'tags' | 'products';
const VALUE_LISTS: Record<string, ValueList> = {
  categories: 'categories',
  storeIds: 'stores',
  sources: 'acquisitionSources',
  tags: 'tags',
  productIds: 'products',
  skus: 'products',
};

export type ConditionParameter = {
  name: string;
  /** JSON Schema type of the value: string, integer, number, boolean or array. */
  type: string;
  /** For an array, the type of its items. */
  items?: string;
  required: boolean;
  description?: string;
  /** The allowed values (of the value, or of an array's items). */
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  values?: ValueList;
};

export type ConditionDescription = {
  kind: string;
  label: string;
  description: string;
  /** The parameters as JSON Schema (draft 2020-12), as the server validates them (`kind` included). */
  schema: Record<string, unknown>;
  /** The same parameters flattened for a form: one entry per field other than `kind`. */
  parameters: ConditionParameter[];
};

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

const inWords = (kind: string) => kind.charAt(0).toUpperCase() + kind.slice(1).replaceAll('_', ' ');

/**
 * The condition registry as a rule builder needs it: per kind, a label, what it means, and its
 * parameters as JSON Schema generated from the same zod schema `parseRules` checks with. Rules across
 * fields ("give min, max or both") are not in the JSON Schema: the server checks them and names the field.
 */
export function describeConditions(): ConditionDescription[] {
  return conditionKinds().map((entry) => {
    const { $schema: _, ...schema } = z.toJSONSchema(entry.schema, {
      io: 'input',
      unrepresentable: 'any',
    }) as JsonSchema & { $schema?: string };
    // Kinds that share a schema (first / last purchase) list every kind in it: name this one.
    const properties: Record<string, JsonSchema> = {
      ...schema.properties,
      kind: { type: 'string', const: entry.kind },
    };
    const required = schema.required ?? [];
    const parameters = Object.entries(properties)
      .filter(([name]) => name !== 'kind')
      .map(([name, property]): ConditionParameter => {
        const allowed = property.enum ?? property.items?.enum;
        const minimum = property.minimum ?? property.exclusiveMinimum;
        return {
          name,
          type: property.type ?? 'string',
          ...(property.items?.type ? { items: property.items.type } : {}),
          required: required.includes(name),
          ...(property.description ? { description: property.description } : {}),
          ...(allowed ? { enum: allowed } : {}),
          ...(minimum !== undefined ? { minimum } : {}),
          ...(property.maximum !== undefined ? { maximum: property.maximum } : {}),
          ...(VALUE_LISTS[name] ? { values: VALUE_LISTS[name] } : {}),
        };
      });
    return {
      kind: entry.kind,
      label: entry.label ?? inWords(entry.kind),
      description: entry.summary,
      schema: { ...schema, properties },
      parameters,
    };
  });
}
