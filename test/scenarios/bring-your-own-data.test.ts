import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kizuna } from '../helpers/cli.ts';
import { createTestTarget, type TestTarget } from '../helpers/database.ts';

/**
 * Scenario 14 (SCENARIOS.md): a shop exports three CSVs from its POS — customers, products and order
 * lines, with Japanese names — and imports them: it sees progress, a summary and a line-numbered list
 * of the 12 bad rows; importing the same files again changes nothing.
 */
describe('scenario 14: bring your own data', () => {
  let dir: string;
  let target: TestTarget;
  const files = () => join(dir, 'pos-export');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-byod-'));
    target = await createTestTarget(join(dir, 'data'));
    await mkdir(files());
    const customers = [
      'external_id,name,name_kana,email,phone,birth_date,consent_email,tags',
      ...Array.from(
        { length: 40 },
        (_, i) =>
          `M${100 + i},山本 ${i}号,ヤマモト,m${i}@example.jp,03-1234-${String(1000 + i)},1980-01-15,はい,会員`,
      ),
      'M900,高橋 さくら,タカハシ サクラ,not-an-email,,,,', // bad: e-mail
      'M901,伊藤 健,イトウ ケン,ken@example.jp,,1990-02-30,,', // bad: date
      'M902,渡辺 結衣,ワタナベ ユイ,yui@example.jp,,,maybe,', // bad: consent
      ',名無し,,,,,,', // bad: no id
    ];
    const products = [
      'sku,name,category,price,unit_cost',
      '4901234567894,コンタクトレンズ 2週間,contact_lenses,4800,2400',
      '4901234567895,メガネ拭き,glasses,500,120',
      '4901234567896,村上春樹 短編集,books,1980,1200',
      '4901234567897,壊れた商品,books,-100,50', // bad: negative price
      '4901234567898,値段なし,books,,50', // bad: missing price
    ];
    const lines = ['order_id,customer_id,ordered_at,sku,quantity,unit_price'];
    for (let i = 0; i < 40; i++) {
      lines.push(`R${1000 + i},M${100 + i},2025-04-0${(i % 9) + 1} 14:3${i % 10},4901234567894,1,4800`);
      lines.push(`R${1000 + i},M${100 + i},2025-04-0${(i % 9) + 1} 14:3${i % 10},4901234567896,2,1980`);
    }
    lines.push(
      'R2000,M999,2025-04-10 10:00,4901234567894,1,4800', // bad: unknown customer
      'R2001,M100,2025-04-10 10:00,0000000000000,1,4800', // bad: unknown product
      'R2003,M100,2025-04-10 10:00,4901234567894,0,4800', // bad: quantity
      'R2004,M100,2025-04-10 10:00,4901234567894,1,"4,800"', // bad: amount with a separator
      'R2005,M100,2025-04-10 10:00,4901234567894,1', // bad: a field missing
      'R2006,M100,2025-04-10 10:00,4901234567897,1,100', // bad: the product was refused above
    );
    await writeFile(join(files(), 'customers.csv'), `\uFEFF${customers.join('\r\n')}\r\n`);
    await writeFile(join(files(), 'products.csv'), `${products.join('\n')}\n`);
    await writeFile(join(files(), 'orders.csv'), `${lines.join('\n')}\n`);
  });
  afterAll(async () => {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('imports the good rows, lists the 12 bad ones by file and line, and a second import changes nothing', async () => {
    const first = await kizuna(['import', 'all', files(), '--timezone', 'Asia/Tokyo'], target.env);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/products\s+products\.csv\s+5\s+3\s+0\s+0\s+2/);
    expect(first.stdout).toMatch(/customers\s+customers\.csv\s+44\s+40\s+0\s+0\s+4/);
    expect(first.stdout).toMatch(/orders\s+orders\.csv\s+86\s+80\s+0\s+0\s+6/);
    const reported = first.stderr.split('\n').filter((l) => /^\w+\.csv:\d+: /.test(l));
    expect(reported.map((l) => l.slice(0, l.indexOf(': ', l.indexOf(':') + 1)))).toEqual([
      'products.csv:5',
      'products.csv:6',
      'customers.csv:42',
      'customers.csv:43',
      'customers.csv:44',
      'customers.csv:45',
      'orders.csv:82',
      'orders.csv:83',
      'orders.csv:84',
      'orders.csv:85',
      'orders.csv:86',
      'orders.csv:87',
    ]);
    expect(reported).toHaveLength(12);
    expect(reported).toContain("orders.csv:82: customer_id: unknown customer 'M999'");
    expect(reported).toContain("orders.csv:87: sku: unknown product '4901234567897'");
    expect(reported).toContain('orders.csv:86: row: the row has 5 fields but the header has 6');

    const timeline = await kizuna(['customer', 'M100', '--json'], target.env);
    const customer = JSON.parse(timeline.stdout);
    expect(customer.customer.name).toBe('山本 0号');
    expect(customer.events.filter((e: { kind: string }) => e.kind === 'order')).toHaveLength(1);

    const again = await kizuna(['import', 'all', files(), '--timezone', 'Asia/Tokyo'], target.env);
    expect(again.stdout).toMatch(/products\s+products\.csv\s+5\s+0\s+0\s+3\s+2/);
    expect(again.stdout).toMatch(/customers\s+customers\.csv\s+44\s+0\s+0\s+40\s+4/);
    expect(again.stdout).toMatch(/orders\s+orders\.csv\s+86\s+0\s+0\s+80\s+6/);
  });
});
