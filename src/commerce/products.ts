import { z } from 'zod';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { isUniqueViolation } from './database-errors.ts';
import { MoneyInput, normalizeMoney } from './money.ts';
import { DEFAULT_PAGING, type Paging, pageOf } from './paging.ts';

export type Product = {
  id: number;
  sku: string;
  name: string;
  category: string;
  /** Exact decimal strings ("3000.00"). */
  price: string;
  unitCost: string | null;
  repurchaseCycleDays: number | null;
  createdAt: Date;
  updatedAt: Date;
};

export const Sku = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\s]+$/, 'must not contain spaces');

export const ProductInput = z.object({
  sku: Sku,
  name: z.string().trim().min(1).max(300),
  category: z.string().trim().min(1).max(100),
  price: MoneyInput,
  unitCost: MoneyInput.nullable().optional(),
  repurchaseCycleDays: z.number().int().min(1).max(3650).nullable().optional(),
});
export type ProductInput = z.output<typeof ProductInput>;

export const ProductPatch = ProductInput.partial();
export type ProductPatch = z.output<typeof ProductPatch>;

export type ProductFilter = { q?: string };

const COLUMNS = [
  'id',
  'sku',
  'name',
  'category',
  'price',
  'unit_cost',
  'repurchase_cycle_days',
  'created_at',
  'updated_at',
] as const;

type ProductRow = {
  id: number;
  sku: string;
  name: string;
  category: string;
  price: string;
  unit_cost: string | null;
  repurchase_cycle_days: number | null;
  created_at: Date;
  updated_at: Date;
};

const toProduct = (row: ProductRow): Product => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  category: row.category,
  price: row.price,
  unitCost: row.unit_cost,
  repurchaseCycleDays: row.repurchase_cycle_days,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const skuTaken = (sku: string) =>
  new KizunaError('product_sku_taken', `A product with SKU ${sku} exists`, { field: 'sku', status: 409 });

const notFound = (productId: number) =>
  new KizunaError('product_not_found', `No product with id ${productId}`, { status: 404 });

/** `q` as a literal substring for ILIKE: the user's % and _ are characters, not wildcards. */
function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Products by SKU; `q` keeps those whose SKU, name or category contains it (case-insensitive). */
export async function listProducts(
  database: Database,
  filter: ProductFilter = {},
  paging: Paging = DEFAULT_PAGING,
): Promise<{ products: Product[]; hasMore: boolean }> {
  let query = database.db.selectFrom('products').select(COLUMNS);
  const q = filter.q?.trim();
  if (q) {
    const pattern = containsPattern(q);
    query = query.where((eb) =>
      eb.or([eb('sku', 'ilike', pattern), eb('name', 'ilike', pattern), eb('category', 'ilike', pattern)]),
    );
  }
  const rows = await query
    .orderBy('sku')
    .limit(paging.limit + 1)
    .offset(paging.offset)
    .execute();
  const page = pageOf(rows, paging);
  return { products: page.items.map(toProduct), hasMore: page.hasMore };
}

export async function getProduct(database: Database, productId: number): Promise<Product> {
  const row = await database.db
    .selectFrom('products')
    .select(COLUMNS)
    .where('id', '=', productId)
    .executeTakeFirst();
  if (!row) throw notFound(productId);
  return toProduct(row);
}

export async function createProduct(database: Database, input: ProductInput): Promise<Product> {
  const row = await database.db
    .insertInto('products')
    .values({
      sku: input.sku,
      name: input.name,
      category: input.category,
      price: normalizeMoney(input.price),
      unit_cost: input.unitCost == null ? null : normalizeMoney(input.unitCost),
      repurchase_cycle_days: input.repurchaseCycleDays ?? null,
    })
    .onConflict((oc) => oc.column('sku').doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  if (!row) throw skuTaken(input.sku);
  return toProduct(row);
}

export async function updateProduct(
  database: Database,
  productId: number,
  patch: ProductPatch,
): Promise<Product> {
  if (Object.keys(patch).length === 0) return getProduct(database, productId);
  try {
    const row = await database.db
      .updateTable('products')
      .set({
        ...(patch.sku === undefined ? {} : { sku: patch.sku }),
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.category === undefined ? {} : { category: patch.category }),
        ...(patch.price === undefined ? {} : { price: normalizeMoney(patch.price) }),
        ...(patch.unitCost === undefined
          ? {}
          : { unit_cost: patch.unitCost === null ? null : normalizeMoney(patch.unitCost) }),
        ...(patch.repurchaseCycleDays === undefined
          ? {}
          : { repurchase_cycle_days: patch.repurchaseCycleDays }),
        updated_at: new Date(),
      })
      .where('id', '=', productId)
      .returning(COLUMNS)
      .executeTakeFirst();
    if (!row) throw notFound(productId);
    return toProduct(row);
  } catch (error) {
    if (isUniqueViolation(error, 'products_sku_key')) throw skuTaken(patch.sku ?? '');
    throw error;
  }
}
