import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KindName } from '../importer/index.ts';
import type { Row } from './columns.ts';

/** Where the project's shared data sets live (../shared/data beside the repository by default). */
export function sharedDataDir(): string {
  return process.env.KIZUNA_SHARED_DATA ?? join(import.meta.dirname, '../../../shared/data');
}

export type CdnowFile = 'master' | 'sample';

/**
 * The CDNOW purchase log (see shared/data/cdnow/README.md) as import rows: one customer per CDNOW id,
 * one product "CD", and one order per log row (several on one day stay separate orders; the CLV
 * summary groups them into one purchase occasion). Amounts are the dollars paid, in USD.
 */
export function cdnowRows(
  file: CdnowFile = 'master',
  dir = join(sharedDataDir(), 'cdnow'),
): Partial<Record<KindName, Row[]>> {
  const path = join(dir, file === 'master' ? 'CDNOW_master.txt' : 'CDNOW_sample.txt');
  const text = readFileSync(path, 'utf8');
  const customers = new Map<string, string>();
  const orders: Row[] = [];
  let lineNo = 0;
  for (const line of text.split(/\r?\n/)) {
    lineNo++;
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || !/^\d/.test(fields[0]!)) continue;
    // master: id, date, cds, dollars; sample: master id, sample id, date, cds, dollars.
    const [id, date, cds, dollars] =
      file === 'master' ? fields : [fields[0]!, fields[2]!, fields[3]!, fields[4]!];
    const day = `${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6, 8)}`;
    const customer = `CD${id}`;
    if (!customers.has(customer)) customers.set(customer, `${day}T00:00:00Z`);
    const quantity = Math.max(1, Number(cds));
    orders.push({
      order_id: `CDNOW-${file}-${lineNo}`,
      customer_id: customer,
      store: '',
      ordered_at: `${day}T12:00:00Z`,
      currency: 'USD',
      line_no: '1',
      sku: 'CD',
      quantity: String(quantity),
      unit_price: (Number(dollars) / quantity).toFixed(2),
      amount: Number(dollars).toFixed(2),
    });
  }
  return {
    products: [
      {
        sku: 'CD',
        name: 'Compact disc',
        category: 'music',
        price: '12.00',
        unit_cost: '',
        repurchase_cycle_days: '',
      },
    ],
    customers: [...customers].map(([external_id, created_at]) => ({
      external_id,
      acquisition_source: 'online',
      created_at,
    })),
    orders,
  };
}
