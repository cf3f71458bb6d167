/**
 * Customer search and duplicates benchmark: simulated customers (bench/harness.ts) given Japanese names,
 * kana, e-mails, phones, tags and home stores, then typical counter searches timed (median of 20 runs
 * each, after ANALYZE) for an all-stores caller and a caller limited to one store.
 *
 *   node --import tsx bench/customer-search.ts --customers 100000 [--engines pglite,postgres]
 */
import { sql } from 'kysely';
import { type Actor, CLI_ACTOR } from '../src/auth/index.ts';
import { findDuplicateCandidates, searchCustomers } from '../src/customers/index.ts';
import type { Database } from '../src/db/index.ts';
import { benchArgs, count, loadSimulatedShop, runEngine, runEngines, type Step, timed } from './harness.ts';

const FAMILY = ['山田', '田中', '佐藤', '鈴木', '高橋', '伊藤', '渡辺', '中村', '小林', '加藤'];
const FAMILY_KANA = [
  'ヤマダ',
  'タナカ',
  'サトウ',
  'スズキ',
  'タカハシ',
  'イトウ',
  'ワタナベ',
  'ナカムラ',
  'コバヤシ',
  'カトウ',
];
const GIVEN = ['花子', '一郎', '美咲', '翔太', '陽菜', '大輝', '結衣', '蓮', '葵', '悠真'];
const GIVEN_KANA = [
  'ハナコ',
  'イチロウ',
  'ミサキ',
  'ショウタ',
  'ヒナ',
  'ダイキ',
  'ユイ',
  'レン',
  'アオイ',
  'ユウマ',
];

async function giveIdentities(database: Database): Promise<void> {
  // Names vary by id digits, so that a full name matches ~1 % and a family name ~10 % of customers.
  await sql`
    update customers set
      name = (${FAMILY}::text[])[1 + id % 10] || ' ' || (${GIVEN}::text[])[1 + (id / 10) % 10] || id % 97,
      name_kana = (${FAMILY_KANA}::text[])[1 + id % 10] || ' ' || (${GIVEN_KANA}::text[])[1 + (id / 10) % 10],
      email = 'user' || id || '@example' || (id % 50) || '.jp',
      phone = '090-' || lpad((id / 10000)::text, 4, '0') || '-' || lpad((id % 10000)::text, 4, '0'),
      tags = case when id % 20 = 0 then array['vip'] else '{}' end,
      home_store_id = 1 + id % 10`.execute(database.db);
  await sql`update orders set store_id = 1 + (id % 10)`.execute(database.db);
  await sql`analyze customers; analyze orders; analyze interactions`.execute(database.db);
}

async function median(work: () => Promise<unknown>, runs = 20): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

const SEARCHES: [string, { q?: string; tag?: string }][] = [
  ['full name 山田花子', { q: '山田花子' }],
  ['given name 花子', { q: '花子' }],
  ['kana やまだ はなこ', { q: 'やまだ はなこ' }],
  ['e-mail exact', { q: 'user54321@example21.jp' }],
  ['e-mail prefix', { q: 'user5432' }],
  ['phone 090-0005-4321', { q: '090-0005-4321' }],
  ['external id', { q: 'B54321' }],
  ['tag vip', { tag: 'vip' }],
  ['no query (first page)', {}],
  ['no match', { q: '存在しない' }],
];

async function work(database: Database, steps: Step[], customers: number): Promise<void> {
  await timed(
    steps,
    'load',
    () => loadSimulatedShop(database, customers, { lines: false }),
    (n) => `${count(n)} orders`,
  );
  await database.db
    .insertInto('stores')
    .values(Array.from({ length: 10 }, (_, i) => ({ id: i + 1, code: `S${i + 1}`, name: `Store ${i + 1}` })))
    .execute();
  await timed(steps, 'identities + analyze', () => giveIdentities(database));
  const storeActor: Actor = { ...CLI_ACTOR, kind: 'token', storeIds: [3] };
  for (const [actorName, actor] of [
    ['all stores', CLI_ACTOR],
    ['one store', storeActor],
  ] as const) {
    for (const [name, search] of SEARCHES) {
      let found = 0;
      const ms = await median(async () => {
        found = (await searchCustomers(database, actor, { ...search, limit: 25 })).customers.length;
      });
      steps.push({ step: `search ${name} (${actorName})`, seconds: ms / 1000, detail: `${found} on page` });
      process.stderr.write(`search ${name} (${actorName}): ${ms.toFixed(1)} ms, ${found}\n`);
    }
  }
  await timed(
    steps,
    'duplicate candidates (50)',
    () => findDuplicateCandidates(database, CLI_ACTOR, 50),
    (pairs) => `${pairs.length} pairs`,
  );
}

const args = benchArgs();
if (args.child) {
  await runEngine(args.child, (database, steps) => work(database, steps, args.customers));
} else {
  runEngines(
    'bench/customer-search.ts',
    args.engines,
    ['--customers', String(args.customers)],
    `Customer search, ${count(args.customers)} customers`,
  );
}
