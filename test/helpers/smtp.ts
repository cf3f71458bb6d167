import { type MailCatcher, startMailCatcher } from '../../src/campaigns/index.ts';

export type SmtpCatcher = { catcher: MailCatcher; close(): Promise<void> };

/**
 * A local SMTP server (the mail catcher, on a free port) that `SMTP_URL` points at until `close()`, which
 * stops it and puts the previous `SMTP_URL` back: for tests of code that sends through SMTP_URL.
 */
export async function catchSmtp(): Promise<SmtpCatcher> {
  const previous = process.env.SMTP_URL;
  const catcher = await startMailCatcher({ port: 0 });
  process.env.SMTP_URL = catcher.url;
  return {
    catcher,
    async close() {
      if (previous === undefined) delete process.env.SMTP_URL;
      else process.env.SMTP_URL = previous;
      await catcher.close();
    },
  };
}
