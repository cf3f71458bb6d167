import type { CampaignChannel } from '../../db/index.ts';
import type { Campaign } from '../campaigns.ts';

/** One recipient claimed for sending: who, which variant, by which channel, under which Message-ID. */
export type OutgoingRecipient = {
  customerId: number;
  variant: string;
  channel: CampaignChannel;
  /** Stable per (campaign, customer): `<c{campaignId}.{customerId}@kizuna>`; a resend reuses it. */
  messageId: string;
  attempts: number;
};

/**
 * What became of one message: sent (accepted by the SMTP server, or put on the print file / call list),
 * a transient failure (retried with back-off), a bounce (permanent rejection, e.g. SMTP 5xx), or a failure
 * that no retry can mend (no e-mail address).
 */
export type Delivery = {
  customerId: number;
  outcome: 'sent' | 'transient' | 'bounced' | 'failed';
  subject?: string | null;
  error?: string;
};

/**
 * A channel behind the one interface the sender uses. The sender has already asked the contact policy;
 * a channel only delivers. `deliver` answers one Delivery per recipient and throws only when the process
 * itself cannot go on (the rows then stay 'sending' and a resume sends them again).
 */
export interface ChannelSender {
  readonly channels: readonly CampaignChannel[];
  deliver(campaign: Campaign, recipients: readonly OutgoingRecipient[]): Promise<Delivery[]>;
  close?(): Promise<void>;
}

export const messageIdOf = (campaignId: number, customerId: number) =>
  `<c${campaignId}.${customerId}@kizuna>`;
export const touchKeyOf = (campaignId: number, customerId: number) => `campaign:${campaignId}:${customerId}`;
