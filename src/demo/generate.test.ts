import { describe, expect, it } from 'vitest';
import { DEMO_COLUMNS, DEMO_FILES, type DemoFile, generateDemo, type Row } from './index.ts';

type Tables = Record<DemoFile, Row[]>;

function materialise(customers: number, seed: number, asOf?: Date): Tables {
  const demo = generateDemo({ customers, seed, asOf });
  return Object.fromEntries(DEMO_FILES.map((file) => [file, [...demo[file]()]])) as Tables;
}

const AS_OF = new Date('2026-10-31T23:59:59Z');
const tables = materialise(3000, 20261031);

describe('generateDemo determinism', () => {
  it('gives identical rows for the same seed, and different rows for another seed', () => {
    const again = materialise(300, 5);
    expect(materialise(300, 5)).toEqual(again);
    const other = materialise(300, 6);
    for (const file of ['customers', 'orders', 'touches', 'latent'] as const) {
      expect(other[file]).not.toEqual(again[file]);
    }
  });

  it('re-derives each file independently: consuming one file does not change another', () => {
    const demo = generateDemo({ customers: 200, seed: 9 });
    const ordersFirst = [...demo.orders()];
    [...demo.customers()];
    [...demo.touches()];
    expect([...demo.orders()]).toEqual(ordersFirst);
  });
});

describe('generated rows', () => {
  it('have exactly the documented columns, all strings', () => {
    // Violations are collected and compared once: an expect() per value would dominate the test's time.
    const problems: string[] = [];
    for (const file of DEMO_FILES) {
      expect(tables[file].length, file).toBeGreaterThan(0);
      const header = [...DEMO_COLUMNS[file]].sort().join(',');
      for (const row of tables[file]) {
        if (Object.keys(row).sort().join(',') !== header)
          problems.push(`${file}: ${Object.keys(row).join(',')}`);
        if (Object.values(row).some((v) => typeof v !== 'string')) problems.push(`${file}: non-string value`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('have unique ids and valid references', () => {
    const unique = (file: DemoFile, column: string) => {
      const ids = tables[file].map((r) => r[column]);
      expect(new Set(ids).size, `${file}.${column}`).toBe(ids.length);
    };
    unique('customers', 'external_id');
    unique('returns', 'return_id');
    unique('touches', 'touch_id');
    unique('interactions', 'interaction_id');
    unique('preferences', 'preference_id');
    const emails = tables.customers.map((c) => c.email).filter((e) => e !== '');
    const duplicates = tables.latent.filter((l) => l.duplicate_of !== '').length;
    // Only planted duplicates may share an e-mail address.
    expect(emails.length - new Set(emails).size).toBeLessThanOrEqual(duplicates);

    const stores = new Set(tables.stores.map((s) => s.code));
    const staff = new Set(tables.staff.map((s) => s.code));
    const skus = new Set(tables.products.map((p) => p.sku));
    const customers = new Set(tables.customers.map((c) => c.external_id));
    const lineKeys = new Set(tables.orders.map((o) => `${o.customer_id} ${o.order_id} ${o.sku}`));
    const bad = {
      staff: tables.staff.filter((s) => !stores.has(s.store!)),
      customers: tables.customers.filter(
        (c) =>
          !stores.has(c.home_store!) ||
          (c.account_owner !== '' && !staff.has(c.account_owner!)) ||
          (c.referred_by !== '' && !(c.referred_by! < c.external_id!)),
      ),
      orders: tables.orders.filter(
        (o) => !customers.has(o.customer_id!) || !skus.has(o.sku!) || !stores.has(o.store!),
      ),
      returns: tables.returns.filter((r) => !lineKeys.has(`${r.customer_id} ${r.order_id} ${r.sku}`)),
      interactions: tables.interactions.filter((i) => !staff.has(i.owner!) || !stores.has(i.store!)),
      preferences: tables.preferences.filter(
        (p) =>
          (p.note === '' && (p.key === '' || p.value === '')) ||
          (p.source === 'staff' && !(staff.has(p.author!) && stores.has(p.store!))),
      ),
    };
    for (const [file, rows] of Object.entries(bad)) expect(rows.slice(0, 3), file).toEqual([]);
  });

  it('keep every timestamp between the customer’s created_at and asOf', () => {
    const created = new Map(tables.customers.map((c) => [c.external_id!, c.created_at!]));
    const asOf = AS_OF.toISOString().replace('.000Z', 'Z');
    const timestampColumns: Partial<Record<DemoFile, string[]>> = {
      orders: ['ordered_at'],
      returns: ['returned_at'],
      touches: ['sent_at', 'delivered_at', 'opened_at', 'clicked_at', 'bounced_at'],
      interactions: ['opened_at', 'first_response_at', 'resolved_at'],
      preferences: ['noted_at'],
    };
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
    const problems: string[] = [];
    for (const [file, columns] of Object.entries(timestampColumns) as [DemoFile, string[]][]) {
      for (const row of tables[file]) {
        const from = created.get(row.customer_id!)!;
        for (const column of columns) {
          const value = row[column]!;
          if (value === '') continue;
          // ISO 8601 UTC strings of one format compare in time order.
          if (!iso.test(value) || value < from || value > asOf) {
            problems.push(`${file}.${column} ${value} not in [${from}, ${asOf}]`);
          }
        }
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    for (const c of tables.customers) {
      expect(c.created_at! <= asOf).toBe(true);
      if (c.birth_date) expect(c.birth_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('emit each customer’s orders in time order with contiguous lines numbered 1..n', () => {
    let previous: Row | null = null;
    const seenOrders = new Set<string>();
    const problems: string[] = [];
    for (const line of tables.orders) {
      const at = `${line.order_id} line ${line.line_no}`;
      if (previous !== null && previous.order_id === line.order_id) {
        if (Number(line.line_no) !== Number(previous.line_no) + 1) problems.push(`${at}: line numbers`);
        if (line.ordered_at !== previous.ordered_at || line.customer_id !== previous.customer_id) {
          problems.push(`${at}: header differs`);
        }
      } else {
        if (line.line_no !== '1') problems.push(`${at}: does not start at 1`);
        if (seenOrders.has(line.order_id!)) problems.push(`${at}: lines not contiguous`);
        seenOrders.add(line.order_id!);
        if (
          previous !== null &&
          previous.customer_id === line.customer_id &&
          line.ordered_at! < previous.ordered_at!
        ) {
          problems.push(`${at}: out of time order`);
        }
      }
      if (line.currency !== 'JPY') problems.push(`${at}: currency`);
      // Store purchases happen while the shops are open, 10:00–20:00 JST (UTC+9).
      const jstHour = (Number(line.ordered_at!.slice(11, 13)) + 9) % 24;
      if (jstHour < 10 || jstHour >= 20)
        problems.push(`${at}: ordered at ${line.ordered_at} outside opening hours`);
      if (!(Number(line.quantity) >= 1 && Number.isInteger(Number(line.quantity))))
        problems.push(`${at}: quantity`);
      if (!/^[1-9]\d*$/.test(line.unit_price!)) problems.push(`${at}: unit price`);
      previous = line;
    }
    expect(problems.slice(0, 5)).toEqual([]);
    // Every customer's first order is the acquisition purchase, at created_at.
    const firstOrder = new Map<string, string>();
    for (const line of tables.orders)
      if (!firstOrder.has(line.customer_id!)) firstOrder.set(line.customer_id!, line.ordered_at!);
    for (const c of tables.customers) expect(firstOrder.get(c.external_id!)).toBe(c.created_at);
  });

  it('honour consent and do-not-contact in touches', () => {
    const customers = new Map(tables.customers.map((c) => [c.external_id!, c]));
    const violations = tables.touches.filter((t) => {
      const c = customers.get(t.customer_id!)!;
      if (c.do_not_contact !== 'no') return true;
      if (['email', 'newsletter', 'step_mail'].includes(t.channel!))
        return c.consent_email !== 'yes' || c.email === '';
      if (t.channel === 'sms') return c.consent_sms !== 'yes';
      if (t.channel === 'letter' || t.channel === 'dm') return c.consent_letter !== 'yes';
      if (t.channel === 'phone') return c.consent_phone === 'no' || c.account_owner === '';
      return true;
    });
    expect(violations.slice(0, 3)).toEqual([]);
  });

  it('tells the A/B story: customers bought A only, B only and both', () => {
    const bought = new Map<string, Set<string>>();
    for (const line of tables.orders) {
      if (line.sku !== 'P-A' && line.sku !== 'P-B') continue;
      const skus = bought.get(line.customer_id!) ?? new Set<string>();
      skus.add(line.sku);
      bought.set(line.customer_id!, skus);
    }
    const groups = { a: 0, b: 0, both: 0 };
    for (const skus of bought.values()) {
      if (skus.size === 2) groups.both++;
      else if (skus.has('P-A')) groups.a++;
      else groups.b++;
    }
    expect(groups.a).toBeGreaterThan(50);
    expect(groups.b).toBeGreaterThan(50);
    expect(groups.both).toBeGreaterThan(10);
    // Only customers with the affinity ever buy A or B.
    const affinity = new Map(tables.latent.map((l) => [l.external_id!, l.affinity!]));
    for (const [customer, skus] of bought) {
      if (skus.has('P-A')) expect(['a_only', 'both']).toContain(affinity.get(customer));
      if (skus.has('P-B')) expect(['b_only', 'both']).toContain(affinity.get(customer));
    }
  });

  it('brings lens wearers back about every 90 days and glasses wearers about every 730', () => {
    const cycleIds = new Set(
      tables.latent.flatMap((l) => (l.cycle_order_ids ? l.cycle_order_ids.split('|') : [])),
    );
    const times = { CL: new Map<string, number[]>(), GL: new Map<string, number[]>() };
    for (const line of tables.orders) {
      if (!cycleIds.has(line.order_id!) || line.line_no !== '1') continue;
      const kind = line.sku!.slice(0, 2);
      expect(['CL', 'GL']).toContain(kind);
      const byCustomer = times[kind as 'CL' | 'GL'];
      byCustomer.set(line.customer_id!, [
        ...(byCustomer.get(line.customer_id!) ?? []),
        Date.parse(line.ordered_at!),
      ]);
    }
    const meanGap = (byCustomer: Map<string, number[]>) => {
      const gaps = [...byCustomer.values()].flatMap((t) =>
        t.slice(1).map((ms, i) => (ms - t[i]!) / 86_400_000),
      );
      return { mean: gaps.reduce((s, g) => s + g, 0) / gaps.length, n: gaps.length };
    };
    // Lens gaps are 90 × Gamma(16, 16) days (sd 22.5), moved by less than a day by the shop clock: 4 sd of the
    // mean, plus a day for the shop clock and the slight right-censoring by the window.
    const lens = meanGap(times.CL);
    expect(lens.n).toBeGreaterThan(100);
    expect(Math.abs(lens.mean - 90)).toBeLessThan((4 * 22.5) / Math.sqrt(lens.n) + 1);
    // Glasses gaps (730 days) are heavily right-censored by the 3-year window (a gap longer than the time left
    // is never seen), so their observed mean is biased low; only check the scale: years, not months.
    const glasses = meanGap(times.GL);
    expect(glasses.n).toBeGreaterThan(5);
    expect(glasses.mean).toBeGreaterThan(365);
    const latentLens = tables.latent.reduce((s, l) => s + Number(l.lens_orders), 0);
    const latentGlasses = tables.latent.reduce((s, l) => s + Number(l.glasses_orders), 0);
    expect(latentLens + latentGlasses).toBe(cycleIds.size);
  });

  it('fills the manifest counts once the iterables have been consumed', () => {
    const demo = generateDemo({ customers: 100, seed: 1 });
    expect(demo.manifest().counts.orders).toBeNull();
    expect(demo.manifest().spend).toBeNull();
    const lines = [...demo.orders()];
    const manifest = demo.manifest();
    expect(manifest.counts.orders).toBe(lines.length);
    expect(manifest.counts.orderHeaders).toBe(new Set(lines.map((l) => l.order_id)).size);
    expect(manifest.counts.customers).toBe(100);
    expect(manifest.spend?.bgnbdOrders).toBeGreaterThan(100);
    expect(manifest.asOf).toBe('2026-10-31T23:59:59Z');
    expect(manifest.truth.meanTransactionValue).toBe(4000);
  });

  it('handles an empty demo', () => {
    const demo = generateDemo({ customers: 0, seed: 1 });
    expect([...demo.orders()]).toEqual([]);
    expect([...demo.customers()]).toEqual([]);
    expect(demo.manifest().counts.orders).toBe(0);
    expect(demo.manifest().spend).toBeNull();
    expect([...demo.products()]).toHaveLength(200);
  });

  it('rejects invalid options with the field named', () => {
    expect(() => generateDemo({ customers: -1, seed: 1 })).toThrow(/customers/);
    expect(() => generateDemo({ customers: 10, seed: 1, params: { q: 1 } })).toThrow(/q/);
    expect(() =>
      generateDemo({ customers: 10, seed: 1, params: { aOnlyShare: 0.7, bOnlyShare: 0.5 } }),
    ).toThrow(/aOnlyShare/);
  });
});
