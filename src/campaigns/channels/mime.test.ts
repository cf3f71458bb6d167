import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { addressOf, composeMessage } from './mime.ts';

describe('composeMessage', () => {
  it('writes MIME that a mail parser reads back exactly: Japanese name and subject, text and HTML parts', async () => {
    const text = `佐藤様\n\nワインの新入荷です。${'長い行 '.repeat(60)}\nhttps://example.jp/u/abc`;
    const raw = composeMessage({
      from: 'Kizuna <shop@kizuna.localhost>',
      to: { name: '佐藤 花子', address: 'hanako@example.jp' },
      subject: '佐藤様、秋のワインフェアのご案内（10%オフ）— 今週末まで',
      text,
      html: '<p>佐藤様 &amp; ご家族様</p>',
      messageId: '<c1.2@kizuna>',
      date: new Date('2026-11-29T09:00:00Z'),
      headers: { 'List-Unsubscribe': '<https://example.jp/u/abc>', 'X-Evil': 'a\r\nBcc: x@y' },
    });
    expect(raw.split('\r\n').every((line) => line.length <= 998)).toBe(true);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe('佐藤様、秋のワインフェアのご案内（10%オフ）— 今週末まで');
    expect(mail.to).toMatchObject({ value: [{ name: '佐藤 花子', address: 'hanako@example.jp' }] });
    expect(mail.text).toBe(text);
    expect(mail.html).toBe('<p>佐藤様 &amp; ご家族様</p>');
    expect(mail.messageId).toBe('<c1.2@kizuna>');
    expect(mail.date?.toISOString()).toBe('2026-11-29T09:00:00.000Z');
    expect(mail.headerLines.find((l) => l.key === 'list-unsubscribe')?.line).toBe(
      'List-Unsubscribe: <https://example.jp/u/abc>',
    );
    expect(mail.headers.has('bcc')).toBe(false);
    expect(addressOf('Kizuna <shop@kizuna.localhost>')).toBe('shop@kizuna.localhost');
  });
});
