import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeHours, parseHours } from '../src/cli/sla-command.ts';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

describe('parseHours / describeHours', () => {
  it('reads weekday ranges and lists, several intervals, and JSON', () => {
    expect(parseHours('1-5 09:00-12:00,13:00-18:00; 6 10:00-17:00; 0,3 22:00-06:00')).toEqual({
      0: [['22:00', '06:00']],
      1: [
        ['09:00', '12:00'],
        ['13:00', '18:00'],
      ],
      2: [
        ['09:00', '12:00'],
        ['13:00', '18:00'],
      ],
      3: [
        ['09:00', '12:00'],
        ['13:00', '18:00'],
        ['22:00', '06:00'],
      ],
      4: [
        ['09:00', '12:00'],
        ['13:00', '18:00'],
      ],
      5: [
        ['09:00', '12:00'],
        ['13:00', '18:00'],
      ],
      6: [['10:00', '17:00']],
    });
    expect(parseHours('{"1": [["09:00", "18:00"]]}')).toEqual({ 1: [['09:00', '18:00']] });
    expect(() => parseHours('Mon 09:00-18:00')).toThrow(/--hours: 'Mon 09:00-18:00' is not/);
    expect(describeHours({ 1: [['09:00', '18:00']], 2: [['09:00', '18:00']], 6: [['10:00', '17:00']] })).toBe(
      'Mon–Tue 09:00–18:00, Sat 10:00–17:00',
    );
    expect(describeHours({})).toBe('closed');
  });
});

describe('kizuna sla', () => {
  let dir: string;
  let target: TestTarget;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-sla-'));
    target = await createTestTarget(join(dir, 'data'));
  });
  afterAll(async () => {
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a calendar, refuses a bad time naming the field, adds a policy, lists escalations', async () => {
    const added = await kizuna(
      [
        'sla',
        'calendars',
        'add',
        '--name',
        'Berlin',
        '--timezone',
        'Europe/Berlin',
        '--hours',
        '1-5 09:00-18:00',
      ],
      target.env,
    );
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain('Mon–Fri 09:00–18:00');
    const bad = await kizuna(
      ['sla', 'calendars', 'add', '--name', 'Bad', '--timezone', 'Asia/Tokyo', '--hours', '1 09:00-25:00'],
      target.env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("hours.1[0][1]: '25:00' is not a time 00:00–24:00");
    const policy = await kizuna(
      [
        'sla',
        'policies',
        'add',
        '--name',
        'Berlin complaints',
        '--calendar',
        '2',
        '--kinds',
        'complaint',
        '--first-response',
        '30',
      ],
      target.env,
    );
    expect(policy.stderr).toBe('');
    const list = await kizuna(['sla', 'policies'], target.env);
    expect(list.stdout).toMatch(/Loyal urgent\s+10\s+any\s+urgent\s+loyal\s+any\s+30\s+60\s+270/);
    expect(list.stdout).toMatch(
      /Berlin complaints\s+100\s+complaint\s+any\s+any\s+any\s+30\s+–\s+–\s+20 %\s+Berlin\s+yes/,
    );
    const escalations = await kizuna(['sla', 'escalations'], target.env);
    expect(escalations.code).toBe(0);
    expect(escalations.stdout).toContain('breached at');
  }, 300_000);
});
