import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

const mail = join(import.meta.dirname, 'fixtures', 'mail');

describe('kizuna ticket', () => {
  let dir: string;
  let target: TestTarget;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-tickets-'));
    target = await createTestTarget(join(dir, 'data'));
  });
  afterAll(async () => {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('receives e-mail, threads the reply, replies and resolves, shows the ticket, prints measures', async () => {
    const first = await kizuna(['ticket', 'inbound', join(mail, 'utf8-multipart-qp.eml')], target.env);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^opened: ticket (\d+), customer (\d+) \(new\)/);
    const ticketId = first.stdout.match(/ticket (\d+)/)![1]!;

    const reply = await kizuna(['ticket', 'inbound', join(mail, 'reply-threaded.eml')], target.env);
    expect(reply.stdout).toContain(`threaded: ticket ${ticketId}`);

    const answered = await kizuna(
      ['ticket', 'reply', ticketId, '--body', '交換いたします。', '--status', 'resolved'],
      target.env,
    );
    expect(answered.code).toBe(0);
    expect(answered.stdout).toContain(`on ticket ${ticketId} (resolved)`);

    const shown = await kizuna(['ticket', 'show', ticketId], target.env);
    expect(shown.stdout).toContain('ありがとうございます。土曜日に店舗へ持っていきます。');
    expect(shown.stdout).toContain('public_reply (command line)');
    expect(shown.stdout).toMatch(/status: new [\d-]+ [\d:]+ → resolved/);

    const measures = await kizuna(
      ['ticket', 'measures', '--from', '2024-01-01', '--to', '2025-01-01'],
      target.env,
    );
    expect(measures.code).toBe(0);
    expect(measures.stdout).toMatch(/all\s+1\s+1/);

    const bad = await kizuna(['ticket', 'status', ticketId, 'done'], target.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('status must be one of');
  }, 300_000);
});
