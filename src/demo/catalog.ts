import { Rng } from './random.ts';

/**
 * The demo retailer's reference data: a lifestyle chain with five stores in the Kantō and Kansai regions,
 * fifteen staff and 200 products. It does not depend on the demo seed, so that scenarios can name a SKU or a
 * price ("P-A costs 1,780 yen") whatever seed produced the customers.
 */

export type StoreCode = 'S01' | 'S02' | 'S03' | 'S04' | 'S05';

export type Store = {
  code: StoreCode;
  name: string;
  timezone: string;
  /** Where the store's customers live: prefecture + city, town names, postal code prefix, phone area code. */
  city: string;
  towns: readonly string[];
  postalPrefix: string;
  areaCode: string;
  /** Share of customers whose home store this is. */
  weight: number;
};

export const STORES: readonly Store[] = [
  {
    code: 'S01',
    name: '渋谷店 Shibuya',
    timezone: 'Asia/Tokyo',
    city: '東京都渋谷区',
    towns: ['神南', '宇田川町', '道玄坂', '恵比寿', '代々木', '松濤', '広尾', '笹塚'],
    postalPrefix: '150',
    areaCode: '03',
    weight: 0.3,
  },
  {
    code: 'S02',
    name: '新宿店 Shinjuku',
    timezone: 'Asia/Tokyo',
    city: '東京都新宿区',
    towns: ['西新宿', '歌舞伎町', '神楽坂', '高田馬場', '四谷', '大久保', '早稲田町', '市谷本村町'],
    postalPrefix: '160',
    areaCode: '03',
    weight: 0.25,
  },
  {
    code: 'S03',
    name: '横浜店 Yokohama',
    timezone: 'Asia/Tokyo',
    city: '神奈川県横浜市西区',
    towns: ['みなとみらい', '北幸', '南幸', '高島', '戸部町', '平沼', '岡野', '浅間町'],
    postalPrefix: '220',
    areaCode: '045',
    weight: 0.2,
  },
  {
    code: 'S04',
    name: '梅田店 Umeda',
    timezone: 'Asia/Tokyo',
    city: '大阪府大阪市北区',
    towns: ['梅田', '茶屋町', '中津', '天満', '曽根崎', '堂島', '西天満', '扇町'],
    postalPrefix: '530',
    areaCode: '06',
    weight: 0.15,
  },
  {
    code: 'S05',
    name: '京都店 Kyoto',
    timezone: 'Asia/Tokyo',
    city: '京都府京都市中京区',
    towns: ['河原町通', '烏丸通', '三条通', '錦小路通', '四条通', '寺町通', '御池通', '新町通'],
    postalPrefix: '604',
    areaCode: '075',
    weight: 0.1,
  },
];

export const STORE_WEIGHTS: readonly number[] = STORES.map((store) => store.weight);

export type StaffRole = 'owner' | 'manager' | 'marketer' | 'store_staff' | 'service_agent';

export type StaffMember = { code: string; name: string; email: string; role: StaffRole; store: StoreCode };

const STAFF_SPEC: readonly [string, StaffRole, StoreCode][] = [
  ['佐藤 健一', 'owner', 'S01'],
  ['高橋 美咲', 'marketer', 'S01'],
  ['田中 誠', 'manager', 'S01'],
  ['伊藤 さくら', 'store_staff', 'S01'],
  ['渡辺 翔太', 'service_agent', 'S01'],
  ['山本 恵', 'manager', 'S02'],
  ['中村 大輔', 'store_staff', 'S02'],
  ['小林 彩', 'service_agent', 'S02'],
  ['加藤 直樹', 'manager', 'S03'],
  ['吉田 優子', 'store_staff', 'S03'],
  ['山田 拓也', 'manager', 'S04'],
  ['佐々木 愛', 'store_staff', 'S04'],
  ['山口 浩二', 'service_agent', 'S04'],
  ['松本 香織', 'manager', 'S05'],
  ['井上 亮', 'store_staff', 'S05'],
];

export const STAFF: readonly StaffMember[] = STAFF_SPEC.map(([name, role, store], i) => {
  const code = `ST${String(i + 1).padStart(2, '0')}`;
  return { code, name, email: `${code.toLowerCase()}@staff.kizuna.example`, role, store };
});

/** Staff who serve customers at a store's counter (they write preference notes, take calls, own accounts). */
export const FLOOR_STAFF_BY_STORE: ReadonlyMap<StoreCode, readonly StaffMember[]> = new Map(
  STORES.map((store) => [
    store.code,
    STAFF.filter((s) => s.store === store.code && s.role !== 'owner' && s.role !== 'marketer'),
  ]),
);

export type Category =
  | 'contact_lenses'
  | 'glasses'
  | 'books'
  | 'wine'
  | 'shoes'
  | 'coffee'
  | 'cosmetics'
  | 'stationery'
  | 'apparel'
  | 'gifts'
  | 'audio'
  | 'refills';

export type Product = {
  sku: string;
  name: string;
  category: Category;
  /** Integer yen. */
  price: number;
  unitCost: number;
  repurchaseCycleDays: number | null;
};

type CategorySpec = {
  category: Category;
  prefix: string;
  count: number;
  minPrice: number;
  maxPrice: number;
  cycleDays: number | null;
  /** How often a customer names this category among their interests (relative). */
  popularity: number;
  names: (rng: Rng, i: number) => string;
  /** Fixed shelf prices where random ones would look wrong (a 90-pack cheaper than a 30-pack). */
  prices?: readonly number[];
};

const BOOKS: readonly string[] = [
  '夏目漱石『こころ』',
  '夏目漱石『吾輩は猫である』',
  '太宰治『人間失格』',
  '太宰治『走れメロス』',
  '宮沢賢治『銀河鉄道の夜』',
  '芥川龍之介『羅生門』',
  '芥川龍之介『蜘蛛の糸』',
  '森鷗外『舞姫』',
  '樋口一葉『たけくらべ』',
  '中島敦『山月記』',
  '梶井基次郎『檸檬』',
  '坂口安吾『堕落論』',
  '与謝野晶子『みだれ髪』',
  '石川啄木『一握の砂』',
  '泉鏡花『高野聖』',
];
const BOOK_FORMATS: readonly string[] = ['文庫', '単行本'];

const WINE_REGIONS: readonly string[] = [
  'ボルドー',
  'ブルゴーニュ',
  'トスカーナ',
  'リオハ',
  'ナパ',
  '山梨',
  '長野',
  'マールボロ',
];
const WINE_GRAPES: readonly string[] = [
  'カベルネ・ソーヴィニヨン',
  'ピノ・ノワール',
  'シャルドネ',
  '甲州',
  'メルロー',
  'ソーヴィニヨン・ブラン',
];
const SHOE_KINDS: readonly string[] = [
  '革靴 ストレートチップ',
  'ローファー',
  'スニーカー',
  'ランニングシューズ',
  'ブーツ',
  'パンプス',
];
const COLOURS: readonly string[] = ['ブラック', 'ブラウン', 'ネイビー', 'ホワイト', 'グレー', 'ベージュ'];
const COFFEES: readonly string[] = [
  'エチオピア',
  'グアテマラ',
  'コロンビア',
  'ブラジル',
  'ケニア',
  'インドネシア',
  'ホンジュラス',
];
const ROASTS: readonly string[] = ['浅煎り', '中煎り', '深煎り'];
const COSMETICS: readonly string[] = [
  '化粧水',
  '乳液',
  '美容液',
  '日焼け止め',
  'リップクリーム',
  'ハンドクリーム',
  'クレンジング',
];
const COSMETIC_LINES: readonly string[] = ['しっとり', 'さっぱり', '敏感肌用'];
const STATIONERY: readonly string[] = [
  '万年筆',
  'ボールペン',
  'ノート A5',
  '手帳',
  '一筆箋',
  '便箋セット',
  '色鉛筆 24色',
  'シャープペンシル',
];
const FINISHES: readonly string[] = ['ブラック', 'ネイビー', 'ボルドー', 'クリア'];
const APPAREL: readonly string[] = ['シャツ', 'カーディガン', 'Tシャツ', 'ストール', 'ジャケット', 'ニット'];
const SIZES: readonly string[] = ['S', 'M', 'L'];
const GIFTS: readonly string[] = [
  '今治タオルセット',
  '和菓子詰め合わせ',
  'カタログギフト',
  '名入れグラス',
  'フラワーギフト',
  '紅茶セット',
  'お線香セット',
];
const AUDIO: readonly string[] = [
  'ワイヤレスイヤホン',
  'ヘッドホン',
  'Bluetoothスピーカー',
  'レコードプレーヤー',
  'ポータブルアンプ',
];
const FRAME_BRANDS: readonly string[] = ['KIZUNA', 'Asakusa Optical', 'Sabae Works', 'Lumen'];
const FRAME_SHAPES: readonly string[] = [
  'ボストン',
  'ウェリントン',
  'ラウンド',
  'スクエア',
  'オーバル',
  'ハーフリム',
];
const LENSES: readonly string[] = [
  'ワンデー クリア 30枚',
  'ワンデー クリア 90枚',
  '2ウィーク クリア 6枚',
  'マンスリー クリア 3枚',
  'ワンデー 乱視用 30枚',
  'ワンデー 遠近両用 30枚',
  'ワンデー カラー 30枚',
  'ケア用品 マルチソリューション 360ml',
];
const REFILLS: readonly string[] = [
  '替芯 0.5mm',
  'インクカートリッジ',
  'コーヒー用ペーパーフィルター',
  '詰め替え用ハンドソープ',
  'ボトルインク',
  'タンブラー用替えフタ',
  'ノート替え紙',
  '紙袋',
];

const CATEGORY_SPECS: readonly CategorySpec[] = [
  {
    category: 'contact_lenses',
    prefix: 'CL',
    count: 8,
    minPrice: 1500,
    maxPrice: 6000,
    cycleDays: 90,
    popularity: 0,
    names: (_rng, i) => LENSES[i]!,
    prices: [2480, 6980, 1980, 2980, 3280, 3980, 2680, 1180],
  },
  {
    category: 'glasses',
    prefix: 'GL',
    count: 12,
    minPrice: 12000,
    maxPrice: 60000,
    cycleDays: 730,
    popularity: 0,
    names: (rng) => `${rng.pick(FRAME_BRANDS)} ${rng.pick(FRAME_SHAPES)}フレーム ${rng.pick(COLOURS)}`,
  },
  {
    category: 'books',
    prefix: 'BK',
    count: 30,
    minPrice: 500,
    maxPrice: 4000,
    cycleDays: null,
    popularity: 14,
    names: (_rng, i) => `${BOOKS[i % BOOKS.length]} ${BOOK_FORMATS[Math.floor(i / BOOKS.length) % 2]}`,
  },
  {
    category: 'wine',
    prefix: 'WN',
    count: 24,
    minPrice: 1500,
    maxPrice: 30000,
    cycleDays: null,
    popularity: 10,
    names: (rng) => `${rng.pick(WINE_REGIONS)} ${rng.pick(WINE_GRAPES)} ${rng.int(2012, 2023)}`,
  },
  {
    category: 'shoes',
    prefix: 'SH',
    count: 18,
    minPrice: 5000,
    maxPrice: 30000,
    cycleDays: null,
    popularity: 8,
    names: (rng) => `${rng.pick(SHOE_KINDS)} ${rng.pick(COLOURS)}`,
  },
  {
    category: 'coffee',
    prefix: 'CF',
    count: 16,
    minPrice: 600,
    maxPrice: 4000,
    cycleDays: 30,
    popularity: 12,
    names: (rng) => `コーヒー豆 ${rng.pick(COFFEES)} ${rng.pick(ROASTS)} ${rng.pick(['200g', '500g'])}`,
  },
  {
    category: 'cosmetics',
    prefix: 'CS',
    count: 20,
    minPrice: 1200,
    maxPrice: 12000,
    cycleDays: 60,
    popularity: 10,
    names: (rng) => `${rng.pick(COSMETICS)} ${rng.pick(COSMETIC_LINES)}`,
  },
  {
    category: 'stationery',
    prefix: 'SN',
    count: 22,
    minPrice: 300,
    maxPrice: 30000,
    cycleDays: null,
    popularity: 10,
    names: (rng) => `${rng.pick(STATIONERY)} ${rng.pick(FINISHES)}`,
  },
  {
    category: 'apparel',
    prefix: 'AP',
    count: 18,
    minPrice: 2000,
    maxPrice: 25000,
    cycleDays: null,
    popularity: 10,
    names: (rng) => `${rng.pick(APPAREL)} ${rng.pick(COLOURS)} ${rng.pick(SIZES)}`,
  },
  {
    category: 'gifts',
    prefix: 'GF',
    count: 14,
    minPrice: 1000,
    maxPrice: 15000,
    cycleDays: null,
    popularity: 8,
    names: (rng) => rng.pick(GIFTS),
  },
  {
    category: 'audio',
    prefix: 'AU',
    count: 10,
    minPrice: 3000,
    maxPrice: 60000,
    cycleDays: null,
    popularity: 5,
    names: (rng) => rng.pick(AUDIO),
  },
  {
    category: 'refills',
    prefix: 'RF',
    count: 8,
    minPrice: 300,
    maxPrice: 1500,
    cycleDays: 60,
    popularity: 6,
    names: (_rng, i) => REFILLS[i]!,
  },
];

/** Categories a customer can name as interests (lenses and glasses are assigned by their own shares). */
export const INTEREST_CATEGORIES: readonly Category[] = CATEGORY_SPECS.filter((c) => c.popularity > 0).map(
  (c) => c.category,
);
export const INTEREST_WEIGHTS: readonly number[] = CATEGORY_SPECS.filter((c) => c.popularity > 0).map(
  (c) => c.popularity,
);

/** Shelf prices end in …80 above 1,000 yen (1,980, 2,480), as Japanese retail prices usually do. */
function shelfPrice(raw: number): number {
  if (raw < 1000) return Math.max(300, Math.round(raw / 10) * 10);
  return Math.round(raw / 100) * 100 - 20;
}

/** The two coffees of the "bought A only / B only / both" story; only customers with an affinity buy them. */
export const PRODUCT_A_SKU = 'P-A';
export const PRODUCT_B_SKU = 'P-B';

function buildProducts(): Product[] {
  // A fixed stream: the catalogue is the same for every demo seed.
  const rng = new Rng(0x6b697a75, 0x6e61, 0xca7a);
  const products: Product[] = [];
  for (const spec of CATEGORY_SPECS) {
    const names = new Set<string>();
    for (let i = 0; i < spec.count; i++) {
      let name = spec.names(rng, i);
      for (let attempt = 0; names.has(name) && attempt < 20; attempt++) name = spec.names(rng, i);
      if (names.has(name)) name = `${name} (${i + 1})`;
      names.add(name);
      // Log-uniform: cheap items are more numerous than expensive ones in every category.
      const drawn = shelfPrice(Math.exp(rng.uniform(Math.log(spec.minPrice), Math.log(spec.maxPrice))));
      const price = spec.prices?.[i] ?? drawn;
      products.push({
        sku: `${spec.prefix}-${String(i + 1).padStart(3, '0')}`,
        name,
        category: spec.category,
        price,
        unitCost: Math.round(price * rng.uniform(0.4, 0.75)),
        repurchaseCycleDays: spec.cycleDays,
      });
    }
  }
  // Products A and B replace the last two coffees, so the catalogue keeps 200 products.
  const coffees = products.filter((p) => p.category === 'coffee');
  const a = coffees[coffees.length - 2]!;
  const b = coffees[coffees.length - 1]!;
  Object.assign(a, {
    sku: PRODUCT_A_SKU,
    name: 'コーヒー豆 キズナ ブレンドA 200g',
    price: 1780,
    unitCost: 890,
  });
  Object.assign(b, {
    sku: PRODUCT_B_SKU,
    name: 'コーヒー豆 キズナ ブレンドB 200g',
    price: 1980,
    unitCost: 1050,
  });
  return products;
}

export const PRODUCTS: readonly Product[] = buildProducts();

export const PRODUCT_BY_SKU: ReadonlyMap<string, Product> = new Map(PRODUCTS.map((p) => [p.sku, p]));

/** Per category, the products a customer may be drawn to (A and B excluded), sorted by price ascending. */
export const PRODUCTS_BY_CATEGORY: ReadonlyMap<Category, readonly Product[]> = new Map(
  CATEGORY_SPECS.map((spec) => [
    spec.category,
    PRODUCTS.filter(
      (p) => p.category === spec.category && p.sku !== PRODUCT_A_SKU && p.sku !== PRODUCT_B_SKU,
    ).sort((x, y) => x.price - y.price),
  ]),
);

/** The lenses a wearer subscribes to (the care solution, the last CL product, is an add-on). */
export const LENS_PRODUCTS: readonly Product[] = PRODUCTS.filter(
  (p) => p.category === 'contact_lenses',
).slice(0, 7);
export const LENS_CARE_PRODUCT: Product = PRODUCTS.filter((p) => p.category === 'contact_lenses')[7]!;

/** Cheap till-side items any order may end with (a refill, a pen): they let the order total land close to z. */
export const TILL_PRODUCTS: readonly Product[] = PRODUCTS.filter(
  (p) => p.category === 'refills' || (p.category === 'stationery' && p.price <= 1500),
);
