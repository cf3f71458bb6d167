import { type Category, FLOOR_STAFF_BY_STORE, STAFF, type StoreCode } from './catalog.ts';
import type { CustomerCore } from './customer.ts';
import type { NumberedOrder } from './orders.ts';
import type { Rng } from './random.ts';
import {
  DAY_MS,
  floorSecond,
  HOUR_MS,
  isoTime,
  isoTimeUntil,
  MINUTE_MS,
  rngFor,
  shopTime,
  WEEK_MS,
  type World,
} from './world.ts';

/**
 * Interactions: what customers told the shop. Their number is Poisson with mean 0.1 per year since
 * acquisition + 0.06 per order, so active buyers talk more. Most follow an order within days (a complaint
 * about the shoes just bought); the rest fall uniformly between acquisition and asOf. Status follows the
 * clock: resolved/closed once resolved_at ≤ asOf, waiting once answered, open before that. Store visits and
 * calls fall in opening hours (the shop clock, world.ts).
 */

/**
 * The link between reply speed and loyalty the demo plants (MISSION §7; docs/service-desk.md). Orders are
 * drawn before interactions (BG/NBD, whose truth the CLV checks rely on), so the demo plants the
 * association from the other side: the first-response delay of a written ticket (e-mail, web, letter) is
 * log-normal with median 3 h when the customer orders again within 180 days of opening it, and 12 h when
 * they do not; σ = 1 either way. A report that buckets customers by first-response time must therefore
 * find more churn (no order in 180 days) in the slow buckets than in the fast ones. Live contacts (store,
 * phone) are answered within 5 minutes regardless. Written to the manifest as truth.serviceResponse.
 */
export const SERVICE_RESPONSE_EFFECT = {
  windowDays: 180,
  medianHoursWhenTheCustomerBuysAgain: 3,
  medianHoursWhenTheCustomerStops: 12,
  sigma: 1,
} as const;

export type InteractionKind = 'inquiry' | 'request' | 'complaint' | 'suggestion' | 'call';
type InteractionChannel = 'phone' | 'email' | 'store' | 'web' | 'letter';

type Template = { kind: InteractionKind; category: Category | null; subject: string; body: string };

/** `{product}` is replaced by the name of a product from the related order. */
const TEMPLATES: readonly Template[] = [
  {
    kind: 'complaint',
    category: 'shoes',
    subject: '靴がきしむ',
    body: '先日購入した{product}が歩くたびにきしみます。交換か修理はできますか。',
  },
  {
    kind: 'complaint',
    category: 'shoes',
    subject: 'かかとが痛い',
    body: '{product}を履くとかかとが擦れて痛みます。中敷きで調整できますか。',
  },
  {
    kind: 'complaint',
    category: 'audio',
    subject: '片耳から音が出ない',
    body: '購入した{product}の右側から音が出なくなりました。保証で対応していただけますか。',
  },
  {
    kind: 'complaint',
    category: 'wine',
    subject: 'ワインの液漏れ',
    body: '配送された{product}の箱が濡れていて、コルクから液漏れしていました。',
  },
  {
    kind: 'complaint',
    category: null,
    subject: 'レジの待ち時間',
    body: '土曜日の午後、レジで20分ほど待ちました。もう一台開けていただけると助かります。',
  },
  {
    kind: 'inquiry',
    category: 'contact_lenses',
    subject: '度数変更について',
    body: '{product}の度数を変更したいのですが、検査の予約は必要ですか。',
  },
  {
    kind: 'inquiry',
    category: 'wine',
    subject: 'ワインの在庫確認',
    body: '{product}はまだ在庫がありますか。6本まとめて購入したいです。',
  },
  {
    kind: 'inquiry',
    category: 'glasses',
    subject: 'フレームの調整',
    body: '{product}が少しずれてきたので、調整をお願いできますか。',
  },
  {
    kind: 'inquiry',
    category: null,
    subject: '営業時間の確認',
    body: '年末年始の営業時間を教えてください。',
  },
  {
    kind: 'inquiry',
    category: null,
    subject: 'ポイントの有効期限',
    body: 'ポイントの有効期限はいつまでですか。会員カードを紛失してしまいました。',
  },
  {
    kind: 'request',
    category: 'books',
    subject: '本の取り寄せ',
    body: '{product}の続編を取り寄せていただけますか。入荷したら電話をください。',
  },
  {
    kind: 'request',
    category: 'gifts',
    subject: 'ギフト包装の依頼',
    body: '{product}をのし紙付きで包装して、実家に配送してほしいです。',
  },
  {
    kind: 'request',
    category: 'coffee',
    subject: '挽き方の指定',
    body: '次回から{product}を中細挽きでお願いします。',
  },
  {
    kind: 'request',
    category: null,
    subject: '配送日時の変更',
    body: '注文した商品の配送を週末の午前中に変更してください。',
  },
  {
    kind: 'suggestion',
    category: null,
    subject: '駐車場の案内',
    body: '提携駐車場の場所が分かりにくいので、案内を入口に掲示してほしいです。',
  },
  {
    kind: 'suggestion',
    category: 'coffee',
    subject: '試飲の提案',
    body: '新しいコーヒー豆は店頭で試飲できるとうれしいです。',
  },
  {
    kind: 'suggestion',
    category: null,
    subject: 'キャッシュレス決済',
    body: 'QRコード決済の種類を増やしてほしいです。',
  },
  {
    kind: 'call',
    category: null,
    subject: '配送状況の確認',
    body: '注文した商品がいつ届くかの問い合わせ。追跡番号をお伝えした。',
  },
  {
    kind: 'call',
    category: 'contact_lenses',
    subject: 'レンズの入荷連絡',
    body: '{product}の入荷をお知らせし、受け取り日を確認した。',
  },
  {
    kind: 'call',
    category: null,
    subject: '商品の使い方',
    body: '購入商品の使い方について説明した。後日ご来店予定。',
  },
];

const KINDS: readonly InteractionKind[] = ['inquiry', 'request', 'complaint', 'suggestion', 'call'];
const KIND_WEIGHTS: readonly number[] = [0.35, 0.2, 0.15, 0.08, 0.22];
const CHANNELS: readonly InteractionChannel[] = ['email', 'store', 'web', 'phone', 'letter'];
const CHANNEL_WEIGHTS: readonly number[] = [0.35, 0.3, 0.2, 0.1, 0.05];

const SERVICE_AGENTS = STAFF.filter((s) => s.role === 'service_agent');

function ownerFor(rng: Rng, store: StoreCode, channel: InteractionChannel): string {
  // Remote channels go to the service desk; a conversation at the counter is owned by the floor staff.
  if (channel !== 'store') {
    const local = SERVICE_AGENTS.filter((s) => s.store === store);
    return rng.pick(local.length > 0 ? local : SERVICE_AGENTS).code;
  }
  return rng.pick(FLOOR_STAFF_BY_STORE.get(store)!).code;
}

/** A log-normal duration: median · e^{σZ}. */
function logNormal(rng: Rng, median: number, sigma: number): number {
  return median * Math.exp(sigma * rng.standardNormal());
}

export function interactionRows(
  world: World,
  core: CustomerCore,
  orders: readonly NumberedOrder[],
  nextId: () => string,
): Record<string, string>[] {
  const rng = rngFor(world, core.index, 'interactions');
  const count = rng.poisson(0.1 * (core.tWeeks / 52.18) + 0.06 * orders.length);
  const rows: { openedMs: number; row: Record<string, string> }[] = [];
  for (let k = 0; k < count; k++) {
    const kind = KINDS[rng.weightedIndex(KIND_WEIGHTS)]!;
    const order = orders.length > 0 && rng.chance(0.7) ? rng.pick(orders) : null;
    let openedMs = order
      ? order.atMs + rng.exponential(1 / (5 * DAY_MS))
      : core.createdMs + rng.float() * (world.asOfMs - core.createdMs);
    if (openedMs > world.asOfMs) openedMs = core.createdMs + rng.float() * (world.asOfMs - core.createdMs);
    openedMs = Math.max(core.createdMs, floorSecond(openedMs));

    const categories = new Set(order?.lines.map((l) => l.product.category) ?? []);
    const fitting = TEMPLATES.filter(
      (t) => t.kind === kind && (t.category === null || categories.has(t.category)),
    );
    const template = rng.pick(fitting);
    const product = order?.lines.find((l) => l.product.category === template.category)?.product;
    const body = template.body.replace('{product}', product ? `「${product.name}」` : '商品');

    const channel: InteractionChannel =
      kind === 'call' ? 'phone' : CHANNELS[rng.weightedIndex(CHANNEL_WEIGHTS)]!;
    const store = order && channel === 'store' ? order.store : core.homeStore.code;
    const live = channel === 'phone' || channel === 'store';
    if (live) {
      // A visit or a call happens while the shop is open: moved within its day by the shop clock (from a
      // time no later than asOf's model time), and never before acquisition (itself in opening hours).
      openedMs = Math.max(core.createdMs, floorSecond(shopTime(Math.min(openedMs, world.modelEndMs))));
    }
    // Some tickets fall through the cracks (the SLA reports need them): 1 % of written ones are never
    // answered, 3 % are answered but never resolved; half the suggestions are closed with the answer.
    // The planted service effect (SERVICE_RESPONSE_EFFECT): a written ticket of a customer who will not
    // buy again within 180 days was answered slowly (median 12 h instead of 3 h).
    const buysAgain = orders.some((o) => o.atMs > openedMs && o.atMs <= openedMs + 180 * DAY_MS);
    const medianMs =
      (buysAgain
        ? SERVICE_RESPONSE_EFFECT.medianHoursWhenTheCustomerBuysAgain
        : SERVICE_RESPONSE_EFFECT.medianHoursWhenTheCustomerStops) * HOUR_MS;
    const firstResponseMs =
      !live && rng.chance(0.01)
        ? null
        : openedMs +
          (live ? rng.uniform(0, 5 * MINUTE_MS) : logNormal(rng, medianMs, SERVICE_RESPONSE_EFFECT.sigma));
    const closedOnAnswer = kind === 'suggestion' && rng.chance(0.5);
    const resolvedMs =
      firstResponseMs === null || closedOnAnswer || rng.chance(0.03)
        ? null
        : firstResponseMs +
          (live && rng.chance(0.6) ? rng.uniform(0, 20 * MINUTE_MS) : logNormal(rng, 2 * DAY_MS, 1));
    const answered = firstResponseMs !== null && firstResponseMs <= world.asOfMs;
    let status: string;
    if (resolvedMs !== null && resolvedMs <= world.asOfMs) {
      // Resolved tickets are closed after a quiet week.
      status = resolvedMs + WEEK_MS <= world.asOfMs && rng.chance(0.5) ? 'closed' : 'resolved';
    } else if (answered) status = closedOnAnswer ? 'closed' : 'waiting';
    else status = 'open';
    const duration = channel === 'phone' ? String(Math.round(logNormal(rng, 240, 0.6))) : '';
    rows.push({
      openedMs,
      row: {
        interaction_id: '',
        customer_id: core.externalId,
        kind,
        channel,
        status,
        subject: template.subject,
        body,
        store,
        owner: ownerFor(rng, store, channel),
        duration_seconds: duration,
        opened_at: isoTime(openedMs),
        first_response_at: isoTimeUntil(
          firstResponseMs === null ? null : floorSecond(firstResponseMs),
          world.asOfMs,
        ),
        resolved_at: isoTimeUntil(resolvedMs === null ? null : floorSecond(resolvedMs), world.asOfMs),
      },
    });
  }
  rows.sort((x, y) => x.openedMs - y.openedMs);
  return rows.map(({ row }) => ({ ...row, interaction_id: nextId() }));
}
