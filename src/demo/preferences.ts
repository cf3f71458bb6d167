import { type Category, FLOOR_STAFF_BY_STORE } from './catalog.ts';
import type { CustomerCore } from './customer.ts';
import { FAVOURITE_AUTHORS } from './names.ts';
import type { NumberedOrder } from './orders.ts';
import type { Rng } from './random.ts';
import { DAY_MS, floorSecond, isoTime, MINUTE_MS, rngFor, type World } from './world.ts';

/**
 * The preference notebook (MISSION §1): notes staff write during a visit, at that visit's store, by one of
 * its floor staff, so a note written in Kyoto is there when the customer walks into Shibuya. Per customer:
 * Poisson(0.15 + 0.05 per order, capped at 0.8) staff notes, each tied to a random order; one inferred
 * "favourite category" for customers with at least three orders (30 %); a self-declared topic list for a
 * few (5 %). Japanese-named customers' notes are in Japanese, the others' in English.
 */

/** A notebook entry a staff member may write for a customer interested in a category. */
type KeyValue = { key: string; value: (rng: Rng, latin: boolean) => string };

const SHOE_SIZE = (rng: Rng): string => (22.5 + 0.5 * rng.int(0, 11)).toFixed(1);

const KEY_VALUES: Partial<Record<Category, readonly KeyValue[]>> = {
  wine: [
    { key: 'wine', value: (_rng, latin) => (latin ? 'with ice' : 'ワインは氷入り') },
    { key: 'wine', value: (_rng, latin) => (latin ? 'dry white' : '辛口の白が好み') },
  ],
  shoes: [{ key: 'shoe size', value: SHOE_SIZE }],
  books: [{ key: 'favourite author', value: (rng) => rng.pick(FAVOURITE_AUTHORS) }],
  coffee: [
    { key: 'coffee', value: (_rng, latin) => (latin ? 'light roast' : '浅煎りが好み') },
    { key: 'coffee grind', value: (_rng, latin) => (latin ? 'medium-fine grind' : '中細挽き') },
  ],
  cosmetics: [{ key: 'skin type', value: (_rng, latin) => (latin ? 'sensitive skin' : '敏感肌') }],
  apparel: [{ key: 'size', value: (rng) => rng.pick(['S', 'M', 'L']) }],
  contact_lenses: [
    {
      key: 'lens power',
      value: (rng, latin) => `${latin ? 'both' : '左右'} -${(1 + 0.25 * rng.int(0, 20)).toFixed(2)}`,
    },
  ],
  glasses: [
    {
      key: 'frame',
      value: (_rng, latin) => (latin ? 'prefers light titanium frames' : '軽いチタンフレーム希望'),
    },
  ],
  gifts: [{ key: 'gift wrapping', value: (_rng, latin) => (latin ? 'gift-wrapped' : 'のし紙付き') }],
};

const NOTES_JA: readonly string[] = [
  'お子様連れで来店されることが多い',
  '平日の夕方に来店されることが多い',
  '提携駐車場を利用される',
  '配送は午前中指定を希望',
  '会員カードを忘れがちなので電話番号で照会',
  '店頭での長い説明は好まれない',
];
const NOTES_EN: readonly string[] = [
  'Usually comes with children',
  'Prefers English; speaks some Japanese',
  'Uses the partner car park',
  'Wants deliveries in the morning',
];

export function preferenceRows(
  world: World,
  core: CustomerCore,
  orders: readonly NumberedOrder[],
  nextId: () => string,
): Record<string, string>[] {
  const rng = rngFor(world, core.index, 'preferences');
  const entries: { notedMs: number; row: Omit<Record<string, string>, 'preference_id'> }[] = [];
  const staffNotes = rng.poisson(Math.min(0.8, 0.15 + 0.05 * orders.length));
  for (let k = 0; k < staffNotes && orders.length > 0; k++) {
    const visit = rng.pick(orders);
    const notedMs = floorSecond(visit.atMs + rng.uniform(1, 30) * MINUTE_MS);
    if (notedMs > world.asOfMs) continue;
    const author = rng.pick(FLOOR_STAFF_BY_STORE.get(visit.store)!);
    const options = core.interests.flatMap((c) => KEY_VALUES[c] ?? []);
    let key = '';
    let value = '';
    let note = '';
    if (options.length > 0 && rng.chance(0.75)) {
      const option = rng.pick(options);
      key = option.key;
      value = option.value(rng, core.latinName);
    } else note = rng.pick(core.latinName ? NOTES_EN : NOTES_JA);
    entries.push({
      notedMs,
      row: {
        customer_id: core.externalId,
        key,
        value,
        note,
        source: 'staff',
        store: visit.store,
        author: author.code,
      },
    });
  }
  if (orders.length >= 3 && rng.chance(0.3)) {
    const counts = new Map<Category, number>();
    for (const order of orders) {
      for (const line of order.lines)
        counts.set(line.product.category, (counts.get(line.product.category) ?? 0) + 1);
    }
    const [favourite] = [...counts.entries()].sort((x, y) => y[1] - x[1])[0]!;
    // Inferred by the nightly job the day after the latest order.
    const notedMs = Math.min(world.asOfMs, orders[orders.length - 1]!.atMs + DAY_MS);
    entries.push({
      notedMs,
      row: {
        customer_id: core.externalId,
        key: 'favourite_category',
        value: favourite,
        note: '',
        source: 'inferred',
        store: '',
        author: '',
      },
    });
  }
  if (rng.chance(0.05)) {
    const notedMs = floorSecond(Math.min(world.asOfMs, core.createdMs + rng.uniform(0, 30) * DAY_MS));
    entries.push({
      notedMs,
      row: {
        customer_id: core.externalId,
        key: 'newsletter topics',
        value: core.interests.join(', '),
        note: '',
        source: 'customer',
        store: '',
        author: '',
      },
    });
  }
  entries.sort((x, y) => x.notedMs - y.notedMs);
  return entries.map(({ notedMs, row }) => ({ preference_id: nextId(), ...row, noted_at: isoTime(notedMs) }));
}
