import type { CampaignChannel, Database } from '../db/index.ts';
import type { ChannelSender } from './channels/channel.ts';
import { emailChannel } from './channels/email.ts';
import { letterChannel } from './channels/letter.ts';

/**
 * The senders of every channel: e-mail and newsletter over SMTP (SMTP_URL, or `smtpUrl`), letters and
 * call lists onto their files. Close them when done (the SMTP pool).
 */
export function defaultSenders(
  database: Database,
  options: { smtpUrl?: string; maxConnections?: number } = {},
): { senders: Partial<Record<CampaignChannel, ChannelSender>>; close(): Promise<void> } {
  const email = emailChannel(database, options);
  const files = letterChannel();
  return {
    senders: { email, newsletter: email, letter: files, phone: files },
    close: async () => {
      await email.close?.();
    },
  };
}
