import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A local SMTP catcher for the demo, the tests and the benchmark: an SMTP server on 127.0.0.1 that accepts
 * every mail and keeps it in memory (the newest `capacity`, default 10,000) instead of delivering it.
 * Mails are deduplicated by Message-ID — a campaign resumed after a crash may hand the same message over
 * twice (SMTP is at-least-once); the catcher keeps the first and counts the duplicate.
 * Parsing (mailparser) happens when a mail is read, so catching stays cheap.
 */

export type CaughtMail = {
  id: number;
  messageId: string | null;
  to: string;
  subject: string;
  date: Date;
  text: string;
  html?: string;
  headers: Record<string, string>;
};

type Stored = { id: number; messageId: string | null; envelopeTo: string; raw: Buffer; received: Date };

export type MailCatcher = {
  url: string;
  port: number;
  /** Mails accepted (duplicates included) and duplicates dropped since the start. */
  stats(): { received: number; duplicates: number; kept: number; uniqueMessageIds: number };
  /** How many times each Message-ID arrived (for the resume tests). */
  deliveries(messageId: string): number;
  list(options?: { limit?: number }): Promise<CaughtMail[]>;
  /** Fails the next `count` RCPT commands with `code` (e.g. 550 for a bounce, 451 for a transient error). */
  rejectNext(count: number, code: number, filter?: (address: string) => boolean): void;
  clear(): void;
  close(): Promise<void>;
};

const MESSAGE_ID = /^message-id:\s*(<[^>\r\n]+>)/im;

function headerBlock(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end < 0 ? Math.min(raw.length, 8192) : end).toString('utf8');
}

export async function startMailCatcher(
  options: { port?: number; host?: string; capacity?: number } = {},
): Promise<MailCatcher> {
  const capacity = options.capacity ?? 10_000;
  const kept: Stored[] = [];
  const seen = new Map<string, number>();
  const parsed = new Map<number, CaughtMail>();
  let received = 0;
  let duplicates = 0;
  let nextId = 1;
  let rejections: { count: number; code: number; filter?: (address: string) => boolean } | null = null;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      if (rejections && rejections.count > 0 && (!rejections.filter || rejections.filter(address.address))) {
        rejections.count -= 1;
        const error = new Error(
          rejections.code >= 500 ? 'mailbox unavailable' : 'try again later',
        ) as Error & { responseCode: number };
        error.responseCode = rejections.code;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        received += 1;
        const messageId = MESSAGE_ID.exec(headerBlock(raw))?.[1] ?? null;
        if (messageId !== null) {
          const times = seen.get(messageId) ?? 0;
          seen.set(messageId, times + 1);
          if (times > 0) {
            duplicates += 1;
            return callback();
          }
        }
        kept.push({
          id: nextId++,
          messageId,
          envelopeTo: session.envelope.rcptTo.map((r) => r.address).join(', '),
          raw,
          received: new Date(),
        });
        if (kept.length > capacity) {
          const dropped = kept.splice(0, kept.length - capacity);
          for (const d of dropped) parsed.delete(d.id);
        }
        callback();
      });
    },
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;

  async function parse(stored: Stored): Promise<CaughtMail> {
    const cached = parsed.get(stored.id);
    if (cached) return cached;
    const mail = await simpleParser(stored.raw);
    const headers: Record<string, string> = {};
    for (const line of mail.headerLines)
      headers[line.key] = line.line.slice(line.line.indexOf(':') + 1).trim();
    const result: CaughtMail = {
      id: stored.id,
      messageId: stored.messageId,
      to: stored.envelopeTo,
      subject: mail.subject ?? '',
      date: mail.date ?? stored.received,
      text: mail.text ?? '',
      ...(typeof mail.html === 'string' ? { html: mail.html } : {}),
      headers,
    };
    parsed.set(stored.id, result);
    return result;
  }

  return {
    url: `smtp://${host}:${port}`,
    port,
    stats: () => ({ received, duplicates, kept: kept.length, uniqueMessageIds: seen.size }),
    deliveries: (messageId) => seen.get(messageId) ?? 0,
    async list(listOptions = {}) {
      const newest = kept.slice(-(listOptions.limit ?? 100)).reverse();
      return Promise.all(newest.map(parse));
    },
    rejectNext(count, code, filter) {
      rejections = { count, code, filter };
    },
    clear() {
      kept.length = 0;
      parsed.clear();
      seen.clear();
      received = 0;
      duplicates = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let demoCatcher: MailCatcher | null = null;

/** The catcher `kizuna serve` runs when SMTP_URL is not set (the web app lists its mails). */
export function setDemoMailCatcher(catcher: MailCatcher | null): void {
  demoCatcher = catcher;
}

/** The mails the demo catcher caught, newest first (empty when no catcher runs). */
export async function listCaughtMails(options: { limit?: number } = {}): Promise<CaughtMail[]> {
  return demoCatcher ? demoCatcher.list(options) : [];
}
