import { aliveAt, type CustomerCore } from './customer.ts';
import type { Rng } from './random.ts';
import {
  DAY_MS,
  floorSecond,
  HOUR_MS,
  isoTime,
  isoTimeUntil,
  JST_OFFSET_MS,
  MINUTE_MS,
  rngFor,
  SECOND_MS,
  type World,
} from './world.ts';

/**
 * Outbound touches: a campaign calendar (monthly newsletter, seasonal e-mails with A/B subject variants,
 * a New-Year letter, a wine DM, coupon SMS, follow-up calls by account owners) and two step-mail flows
 * (welcome, birthday). Consent is honoured: a channel is used only with a 'yes' for it and never for
 * do-not-contact customers.
 *
 * Ground truth for attribution: audiences are random draws, not targeted, and touches have NO effect on
 * purchases (the purchase processes never look at them). A correct lift measurement on this data finds
 * zero; an analysis that finds an effect is measuring selection (e.g. opens correlate with being alive).
 */

export type TouchChannel = 'email' | 'letter' | 'dm' | 'newsletter' | 'step_mail' | 'phone' | 'sms';
type Audience = 'newsletter' | 'email' | 'letter' | 'sms' | 'owned';

type Campaign = {
  name: string;
  channel: TouchChannel;
  /** Variant code and subject; one entry with code '' when the campaign is not split. */
  variants: readonly { code: string; subject: string }[];
  cost: string;
  audience: Audience;
  /** Share of the eligible audience that receives it (a random draw per customer). */
  reach: number;
  /** Month (1–12), day and JST hour the campaign goes out every year. */
  month: number;
  day: number;
  hour: number;
};

const SEASONAL: readonly Campaign[] = [
  {
    name: '新年のご挨拶',
    channel: 'letter',
    variants: [{ code: '', subject: '謹賀新年 本年もよろしくお願いいたします' }],
    cost: '85',
    audience: 'letter',
    reach: 0.5,
    month: 1,
    day: 2,
    hour: 9,
  },
  {
    name: '春の新生活フェア',
    channel: 'email',
    variants: [
      { code: 'A', subject: '【春の新生活フェア】全品10%オフ' },
      { code: 'B', subject: 'あなたへのおすすめ：春の新生活フェア' },
    ],
    cost: '1',
    audience: 'email',
    reach: 0.6,
    month: 3,
    day: 1,
    hour: 10,
  },
  {
    name: '春のご来店クーポン',
    channel: 'sms',
    variants: [{ code: '', subject: 'Kizuna：ご来店で使える500円クーポン' }],
    cost: '8',
    audience: 'sms',
    reach: 0.8,
    month: 5,
    day: 1,
    hour: 11,
  },
  {
    name: 'お得意様フォローコール 上期',
    channel: 'phone',
    variants: [{ code: '', subject: '近況伺い' }],
    cost: '300',
    audience: 'owned',
    reach: 0.9,
    month: 4,
    day: 10,
    hour: 14,
  },
  {
    name: '夏のボーナスセール',
    channel: 'email',
    variants: [
      { code: 'A', subject: '【夏のボーナスセール】最大30%オフ' },
      { code: 'B', subject: 'ボーナスで自分にごほうびを' },
    ],
    cost: '1',
    audience: 'email',
    reach: 0.6,
    month: 6,
    day: 20,
    hour: 10,
  },
  {
    name: '秋の読書フェア',
    channel: 'email',
    variants: [
      { code: 'A', subject: '【秋の読書フェア】文庫2冊で1冊プレゼント' },
      { code: 'B', subject: '読書の秋におすすめの一冊' },
    ],
    cost: '1',
    audience: 'email',
    reach: 0.6,
    month: 9,
    day: 15,
    hour: 10,
  },
  {
    name: '秋のご来店クーポン',
    channel: 'sms',
    variants: [{ code: '', subject: 'Kizuna：秋のご来店クーポン500円' }],
    cost: '8',
    audience: 'sms',
    reach: 0.8,
    month: 10,
    day: 1,
    hour: 11,
  },
  {
    name: 'お得意様フォローコール 下期',
    channel: 'phone',
    variants: [{ code: '', subject: '近況伺い' }],
    cost: '300',
    audience: 'owned',
    reach: 0.9,
    month: 10,
    day: 10,
    hour: 14,
  },
  {
    name: 'ボージョレ・ヌーヴォー予約のご案内',
    channel: 'dm',
    variants: [{ code: '', subject: 'ボージョレ・ヌーヴォー ご予約受付中' }],
    cost: '180',
    audience: 'letter',
    reach: 0.35,
    month: 11,
    day: 1,
    hour: 9,
  },
  {
    name: '年末ギフトキャンペーン',
    channel: 'email',
    variants: [
      { code: 'A', subject: '【年末ギフト】大切な方への贈り物に' },
      { code: 'B', subject: '今年もありがとうございました：ギフト特集' },
    ],
    cost: '1',
    audience: 'email',
    reach: 0.6,
    month: 12,
    day: 1,
    hour: 10,
  },
];

type Send = {
  campaign: string;
  flow: string;
  channel: TouchChannel;
  variant: string;
  subject: string;
  cost: string;
  atMs: number;
};

/** Epoch ms of a JST wall-clock time (Japan has no daylight saving, so a fixed offset is exact). */
function jst(year: number, month: number, day: number, hour: number): number {
  return Date.UTC(year, month - 1, day, hour) - JST_OFFSET_MS;
}

function eligible(core: CustomerCore, audience: Audience): boolean {
  if (core.doNotContact) return false;
  switch (audience) {
    case 'newsletter':
      return core.newsletter;
    case 'email':
      return core.consentEmail === 'yes';
    case 'letter':
      return core.consentLetter === 'yes';
    case 'sms':
      return core.consentSms === 'yes';
    case 'owned':
      return core.accountOwner !== null && core.consentPhone !== 'no';
  }
}

/** Every message this customer was sent between acquisition and asOf, in time order. */
function sends(world: World, core: CustomerCore, rng: Rng): Send[] {
  const out: Send[] = [];
  const firstYear = new Date(core.createdMs).getUTCFullYear();
  const lastYear = new Date(world.asOfMs).getUTCFullYear();
  for (let year = firstYear; year <= lastYear; year++) {
    for (let month = 1; month <= 12; month++) {
      const newsletterMs = jst(year, month, 5, 10);
      if (newsletterMs > core.createdMs && newsletterMs <= world.asOfMs && eligible(core, 'newsletter')) {
        const label = `${year}年${month}月`;
        out.push({
          campaign: `ニュースレター ${label}`,
          flow: '',
          channel: 'newsletter',
          variant: '',
          subject: `Kizuna通信 ${label}号`,
          cost: '0',
          atMs: newsletterMs,
        });
      }
      for (const campaign of SEASONAL) {
        if (campaign.month !== month) continue;
        const atMs = jst(year, month, campaign.day, campaign.hour);
        if (atMs <= core.createdMs || atMs > world.asOfMs) continue;
        if (!eligible(core, campaign.audience) || !rng.chance(campaign.reach)) continue;
        const variant = rng.pick(campaign.variants);
        out.push({
          campaign: `${campaign.name} ${year}`,
          flow: '',
          channel: campaign.channel,
          variant: variant.code,
          subject: variant.subject,
          cost: campaign.cost,
          atMs,
        });
      }
    }
    if (core.birthDateMs !== null && eligible(core, 'email')) {
      // The same calendar date as the birth_date column (which is printed in UTC).
      const birth = new Date(core.birthDateMs);
      const atMs = jst(year, birth.getUTCMonth() + 1, birth.getUTCDate(), 9);
      if (atMs > core.createdMs && atMs <= world.asOfMs) {
        out.push({
          campaign: '',
          flow: 'birthday',
          channel: 'step_mail',
          variant: '',
          subject: 'お誕生日おめでとうございます：バースデークーポンをお届けします',
          cost: '0',
          atMs,
        });
      }
    }
  }
  if (eligible(core, 'email')) {
    const steps: readonly [number, string][] = [
      [HOUR_MS, 'ご登録ありがとうございます'],
      [7 * DAY_MS, '当店のおすすめをご紹介します'],
      [30 * DAY_MS, '次回のお買い物に使える500円クーポン'],
    ];
    for (const [offset, subject] of steps) {
      const atMs = core.createdMs + offset;
      if (atMs <= world.asOfMs) {
        out.push({
          campaign: '',
          flow: 'welcome',
          channel: 'step_mail',
          variant: '',
          subject,
          cost: '0',
          atMs,
        });
      }
    }
  }
  return out.sort((x, y) => x.atMs - y.atMs);
}

/** An optional event time to the second, '' if it has not happened by asOf. */
function cut(ms: number | null, asOfMs: number): string {
  return isoTimeUntil(ms === null ? null : floorSecond(ms), asOfMs);
}

const EMAIL_CHANNELS: ReadonlySet<TouchChannel> = new Set(['email', 'newsletter', 'step_mail']);

export function touchRows(world: World, core: CustomerCore, nextId: () => string): Record<string, string>[] {
  const rng = rngFor(world, core.index, 'touches');
  const rows: Record<string, string>[] = [];
  for (const send of sends(world, core, rng)) {
    // Sending a batch takes a while: each message leaves within three hours of the campaign's start.
    const sentMs = floorSecond(Math.max(send.atMs, core.createdMs) + rng.uniform(0, 3 * HOUR_MS));
    if (sentMs > world.asOfMs) continue;
    // Active customers open; lapsed ones mostly do not (this is selection, not an effect of the touch).
    const openChance = core.engagement * (aliveAt(core, sentMs) ? 1 : 0.3);
    let delivered: number | null = null;
    let opened: number | null = null;
    let clicked: number | null = null;
    let bounced: number | null = null;
    if (EMAIL_CHANNELS.has(send.channel)) {
      if (core.hardBounce || rng.chance(0.005)) bounced = sentMs + rng.uniform(SECOND_MS, 10 * MINUTE_MS);
      else {
        delivered = sentMs + rng.uniform(SECOND_MS, 5 * MINUTE_MS);
        if (rng.chance(send.channel === 'newsletter' ? 0.8 * openChance : openChance)) {
          opened = delivered + rng.exponential(1 / (6 * HOUR_MS));
          if (rng.chance(0.25)) clicked = opened + rng.exponential(1 / (2 * MINUTE_MS));
        }
      }
    } else if (send.channel === 'letter' || send.channel === 'dm') {
      // Post: delivered in two days; one in a hundred comes back undeliverable.
      if (rng.chance(0.01)) bounced = sentMs + 5 * DAY_MS;
      else delivered = sentMs + 2 * DAY_MS;
    } else if (send.channel === 'sms') {
      delivered = sentMs + rng.uniform(SECOND_MS, MINUTE_MS);
      if (rng.chance(0.1 * openChance + 0.02)) clicked = delivered + rng.exponential(1 / (30 * MINUTE_MS));
    } else if (rng.chance(0.65)) {
      // A call counts as delivered when the customer picks up.
      delivered = sentMs + rng.uniform(5 * SECOND_MS, 40 * SECOND_MS);
    }
    rows.push({
      touch_id: nextId(),
      customer_id: core.externalId,
      channel: send.channel,
      campaign: send.campaign,
      flow: send.flow,
      variant: send.variant,
      subject: send.subject,
      cost: send.cost,
      sent_at: isoTime(sentMs),
      delivered_at: cut(delivered, world.asOfMs),
      opened_at: cut(opened, world.asOfMs),
      clicked_at: cut(clicked, world.asOfMs),
      bounced_at: cut(bounced, world.asOfMs),
    });
  }
  return rows;
}
