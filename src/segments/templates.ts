import { z } from 'zod';
import { KizunaError } from '../errors.ts';
import { parseRules, type RuleNode } from './rules.ts';

/**
 * A product choice for a template: `{productIds}`, `{skus}` or `{categories}` — or, typed at the command
 * line, `category:Wine`, `sku:P001,P002`, `product:12`.
 */
const Choice = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    const [how, list = ''] = value.split(/:(.*)/s);
    const items = list
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    if (how === 'category') return { categories: items };
    if (how === 'sku') return { skus: items };
    if (how === 'product') return { productIds: items.map(Number) };
    return value;
  },
  z
    .strictObject({
      productIds: z.array(z.number().int().positive()).min(1).optional(),
      skus: z.array(z.string().min(1).max(200)).min(1).optional(),
      categories: z.array(z.string().min(1).max(200)).min(1).optional(),
    })
    .refine((c) => c.productIds || c.skus || c.categories, {
      message: 'name products: category:NAME, sku:CODE[,CODE…] or product:ID',
    }),
);
type Choice = z.infer<typeof Choice>;

const number = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const TwoProducts = z.strictObject({ a: Choice, b: Choice, withinDays: number(1, 36_500).optional() });
type TwoProducts = z.infer<typeof TwoProducts>;

const bought = (choice: Choice, withinDays?: number): RuleNode => ({
  kind: 'purchased',
  ...choice,
  withinDays,
});

export type SegmentTemplate = {
  name: string;
  description: string;
  params: z.ZodType;
  build(params: never): RuleNode;
};

function template<S extends z.ZodType>(
  name: string,
  description: string,
  params: S,
  build: (params: z.output<S>) => RuleNode,
): SegmentTemplate {
  return { name, description, params, build: build as (params: never) => RuleNode };
}

export const TEMPLATES: readonly SegmentTemplate[] = [
  template('bought-a-not-b', 'bought A but never B (offer them B)', TwoProducts, (p: TwoProducts) => ({
    op: 'and',
    children: [bought(p.a, p.withinDays), { op: 'not', child: bought(p.b, p.withinDays) }],
  })),
  template('bought-b-not-a', 'bought B but never A (offer them A)', TwoProducts, (p: TwoProducts) => ({
    op: 'and',
    children: [bought(p.b, p.withinDays), { op: 'not', child: bought(p.a, p.withinDays) }],
  })),
  template('bought-both', 'bought both A and B', TwoProducts, (p: TwoProducts) => ({
    op: 'and',
    children: [bought(p.a, p.withinDays), bought(p.b, p.withinDays)],
  })),
  template('loyal-tier', 'the loyal tier (top ~6 % of active customers)', z.strictObject({}), () => ({
    kind: 'tier',
    tiers: ['loyal'],
  })),
  template('semi-loyal-tier', 'the semi-loyal tier (the next ~14 %)', z.strictObject({}), () => ({
    kind: 'tier',
    tiers: ['semi_loyal'],
  })),
  template(
    'lapsed-regulars',
    'bought at least minOrders times (default 3), but not in the last lapsedDays days (default 180)',
    z.strictObject({ minOrders: number(1, 1000).default(3), lapsedDays: number(1, 36_500).default(180) }),
    (p) => ({
      op: 'and',
      children: [
        { kind: 'purchased', minOrders: p.minOrders },
        { kind: 'last_purchase', olderThanDays: p.lapsedDays },
      ],
    }),
  ),
  template(
    'new-customers',
    'first purchase in the last days days (default 30)',
    z.strictObject({ days: number(1, 36_500).default(30) }),
    (p) => ({ kind: 'first_purchase', withinDays: p.days }),
  ),
  template('open-complaints', 'a complaint still open or waiting', z.strictObject({}), () => ({
    kind: 'interaction',
    kinds: ['complaint'],
    unresolved: true,
  })),
];

/** The rule tree of a template with its parameters; mistakes name the parameter (`params.a`). */
export function templateRules(name: string, params: Record<string, unknown> = {}): RuleNode {
  const found = TEMPLATES.find((t) => t.name === name);
  if (!found) {
    throw new KizunaError(
      'unknown_template',
      `unknown template ${JSON.stringify(name.slice(0, 40))}: use one of ${TEMPLATES.map((t) => t.name).join(', ')}`,
      { field: 'template' },
    );
  }
  const parsed = found.params.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ['params', ...issue.path.map(String)].join('.');
    throw new KizunaError('invalid_template_params', `${field}: ${issue.message}`, { field });
  }
  // The tree a template builds is checked like any other: JSON round trip drops undefined keys.
  return parseRules(JSON.parse(JSON.stringify(found.build(parsed.data as never))));
}
