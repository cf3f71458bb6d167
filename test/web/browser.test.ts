import { mkdirSync } from 'node:fs';
import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaffAccount } from '../../src/auth/index.ts';
import { type MailCatcher, setDemoMailCatcher, startMailCatcher } from '../../src/campaigns/index.ts';
import type { Database, Role } from '../../src/db/index.ts';
import { loadMeasuredDemo } from '../../src/demo/measured-demo.ts';
import { openTestDatabase } from '../helpers/database.ts';
import {
  type Browser,
  browserUnavailable,
  ensureWebAppBuilt,
  launchBrowser,
  type Running,
  seriousViolations,
  startServer,
} from './harness.ts';

// The staff web app in Debian's Chromium against the real server on a 2,000-customer demo.
const unavailable = browserUnavailable();
if (unavailable) console.warn(unavailable);

const PASSWORD = 'browser test password 1';
const SCREENSHOTS = process.env.KIZUNA_SCREENSHOTS === '1';

describe.skipIf(unavailable !== null)('web app in a browser', () => {
  let database: Database;
  let running: Running;
  let browser: Browser;
  let page: Page;
  let catcher: MailCatcher;
  const smtpBefore = process.env.SMTP_URL;

  beforeAll(async () => {
    // As `kizuna serve` without SMTP_URL: campaign e-mails go to a local catcher the app lists.
    catcher = await startMailCatcher({ port: 0 });
    setDemoMailCatcher(catcher);
    process.env.SMTP_URL = catcher.url;
    await ensureWebAppBuilt();
    database = await openTestDatabase();
    await loadMeasuredDemo(database, 2000);
    const account = (code: string, role: Role, storeIds?: number[]) =>
      createStaffAccount(database, {
        code,
        name: `Browser ${role}`,
        role,
        storeIds,
        allStores: storeIds === undefined,
        password: PASSWORD,
      });
    await account('web-owner', 'owner');
    await account('web-staff', 'store_staff', [1]);
    await createStaffAccount(database, {
      code: 'web-new',
      name: 'New Manager',
      role: 'manager',
      allStores: true,
      password: PASSWORD,
      mustChangePassword: true,
    });
    running = await startServer(database);
    browser = await launchBrowser();
    page = browser.page;
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await database?.close();
    setDemoMailCatcher(null);
    await catcher?.close();
    if (smtpBefore === undefined) delete process.env.SMTP_URL;
    else process.env.SMTP_URL = smtpBefore;
  });

  async function signIn(login: string) {
    await page.context().clearCookies();
    await page.goto(`${running.url}/`);
    await page.getByLabel(/^Staff code or e-mail/).fill(login);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('signs in with the keyboard alone and shows the name, role and stores', async () => {
    await page.goto(`${running.url}/`);
    // The login field has the focus: type, Tab to the password, Enter submits.
    await page.getByLabel(/^Staff code or e-mail/).waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('login');
    await page.keyboard.type('web-owner');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('staff-name').textContent()).toBe('Browser owner');
    expect(await page.getByTestId('staff-role').textContent()).toBe('Owner');
    expect(await page.getByText('All stores').count()).toBeGreaterThan(0);
  });

  it('refuses a wrong password with the server’s message', async () => {
    await page.context().clearCookies();
    await page.goto(`${running.url}/`);
    await page.getByLabel(/^Staff code or e-mail/).fill('web-owner');
    await page.getByLabel(/^Password/).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/login or password/i);
  });

  it('shows the dashboard figures the data give (counted here independently)', async () => {
    await signIn('web-owner');
    await page.getByTestId('figure-customers').waitFor();
    // The day the dashboard's measures describe, then the figures by hand: customers on file, and the
    // share of lifetime spend (orders up to that day) of the top 20 % of buyers (the first ceil(0.2 n)).
    const answer = await page.evaluate(async () => (await fetch('/api/dashboard')).json());
    const customers = await database.db
      .selectFrom('customers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('merged_into_customer_id', 'is', null)
      .where('erased_at', 'is', null)
      .executeTakeFirstOrThrow();
    const { rows } = await sql<{ spend: string }>`
      select sum(total)::text as spend from orders
      where ordered_at < (${answer.measures.asOf}::date + 1)::timestamp at time zone 'UTC'
      group by customer_id order by sum(total) desc`.execute(database.db);
    const spends = rows.map((r) => Number(r.spend));
    const total = spends.reduce((a, b) => a + b, 0);
    const top = spends.slice(0, Math.ceil(0.2 * spends.length)).reduce((a, b) => a + b, 0);
    expect(spends.length).toBeGreaterThan(100);
    expect(await page.getByTestId('figure-customers').textContent()).toBe(
      Number(customers.n).toLocaleString('en-US'),
    );
    expect(await page.getByTestId('figure-top20').textContent()).toBe(`${Math.round((100 * top) / total)}%`);
    expect(await page.getByText(/Loyal share: [\d.]+% → [\d.]+% → [\d.]+%/).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    if (SCREENSHOTS) {
      mkdirSync('docs/screenshots', { recursive: true });
      await page.waitForTimeout(800); // chart animations
      await page.screenshot({ path: 'docs/screenshots/dashboard.png', fullPage: true });
    }
  });

  it('goes from a tier on the dashboard to the customers behind it', async () => {
    await page.getByRole('link', { name: 'Loyal', exact: true }).click();
    await page.getByRole('heading', { name: 'Customers in the Loyal tier' }).waitFor();
    const loyal = await database.db
      .selectFrom('customer_measures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tier', '=', 'loyal')
      .executeTakeFirstOrThrow();
    await page.locator('tbody tr').first().waitFor();
    const rows = await page.locator('tbody tr').count();
    expect(rows).toBe(Math.min(100, Number(loyal.n)));
  });

  it('finds a customer by kana with the keyboard, opens the 360 and keeps a new note after a reload', async () => {
    const customer = await database.db
      .selectFrom('customers')
      .select(['id', 'name', 'name_kana'])
      .where('name_kana', 'is not', null)
      .orderBy('id')
      .limit(1)
      .executeTakeFirstOrThrow();
    await page.goto(`${running.url}/customers`);
    const search = page.getByLabel('Search', { exact: true });
    await search.focus();
    await page.keyboard.type(customer.name_kana ?? '');
    await page.keyboard.press('Enter');
    const name = customer.name ?? '';
    const link = page.getByRole('link', { name }).first();
    await link.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await link.click();
    await page.getByRole('heading', { name, level: 2 }).waitFor();
    expect(page.url()).toMatch(/\/customers\/\d+$/);

    const note = `wine: with ice ${Date.now()}`;
    await page.getByLabel('Note', { exact: true }).fill(note);
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByTestId('notes').getByText(note).waitFor();
    await page.reload();
    await page.getByTestId('notes').getByText(note).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    if (SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/customer-360.png', fullPage: true });

    // Marked no longer true: still listed (nothing is deleted), without the button.
    const item = page.getByTestId('notes').locator('li', { hasText: note });
    await item.getByRole('button', { name: 'No longer true' }).click();
    await expect.poll(() => item.getByRole('button', { name: 'No longer true' }).count()).toBe(0);
    const stored = await database.db
      .selectFrom('preferences')
      .select(['obsolete_at'])
      .where('note', '=', note)
      .executeTakeFirstOrThrow();
    expect(stored.obsolete_at).not.toBeNull();
  });

  it('builds a segment and the live count follows the rules', async () => {
    const count = async (tiers: ('loyal' | 'semi_loyal')[]) => {
      const row = await database.db
        .selectFrom('customer_measures')
        .innerJoin('customers', 'customers.id', 'customer_measures.customer_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tier', 'in', tiers)
        .where('customers.merged_into_customer_id', 'is', null)
        .where('customers.erased_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n).toLocaleString('en-US');
    };
    await page.goto(`${running.url}/segments`);
    await page.getByRole('combobox', { name: 'Add a condition' }).click();
    await page.getByRole('option', { name: 'Tier' }).click();
    const condition = page.getByTestId('condition-tier');
    await condition
      .getByLabel(/^tiers/)
      .first()
      .click();
    await page.getByRole('option', { name: 'Loyal', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('live-count').textContent(), { timeout: 10_000 })
      .toBe(await count(['loyal']));
    await page.getByRole('option', { name: 'Semi-loyal', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('live-count').textContent(), { timeout: 10_000 })
      .toBe(await count(['loyal', 'semi_loyal']));
    await page.keyboard.press('Escape');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Preview members' }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(await page.locator('tbody tr').count()).toBe(20);
    await page.getByLabel('Segment name').fill('Loyal and semi-loyal (web)');
    await page.getByRole('button', { name: 'Save segment' }).click();
    await page.getByText('Saved as “Loyal and semi-loyal (web)”.').waitFor();
  });

  it('creates a campaign from the segment with two variants and a holdout, previews exclusions, sends it to the local SMTP sink and shows its results', async () => {
    await page.goto(`${running.url}/campaigns`);
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByLabel(/^Name/).fill('Autumn wines (web)');
    await page.getByRole('combobox', { name: /Audience/ }).click();
    await page.getByRole('option', { name: 'Loyal and semi-loyal (web)' }).click();
    await page.getByLabel('Holdout').fill('20');
    await page.getByLabel('Text').first().fill('New wines are in.');
    await page.getByRole('button', { name: 'Add a variant' }).click();
    await page.getByLabel('Text').nth(1).fill('10 % off this week.');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('heading', { name: 'Autumn wines (web)' }).waitFor();

    await page.getByRole('button', { name: 'Assign audience' }).click();
    const assigned = await page.getByText(/members: .* held out; variants A .*, B /).textContent();
    const [, members, held] = /^([\d,]+) members: ([\d,]+) held out/.exec(assigned ?? '') ?? [];
    const audience = await database.db
      .selectFrom('customer_measures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tier', 'in', ['loyal', 'semi_loyal'])
      .executeTakeFirstOrThrow();
    expect(Number(members?.replace(/,/g, ''))).toBe(Number(audience.n));
    // Holdout assignment is stratified by tier: about 20 % of each, so close to 20 % overall.
    expect(Math.abs(Number(held?.replace(/,/g, '')) / Number(audience.n) - 0.2)).toBeLessThan(0.03);

    await page.getByRole('button', { name: 'Preview exclusions' }).click();
    const preview = page.getByTestId('campaign-preview');
    await preview.waitFor();
    // Customers without e-mail consent are excluded with that reason.
    expect(await preview.getByText('No consent (email)').count()).toBe(1);

    await page.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => page.getByTestId('campaign-status').textContent(), { timeout: 60_000 })
      .toBe('sent');
    const report = page.getByTestId('campaign-report');
    await report.waitFor();
    expect(await report.getByRole('row', { name: /^Holdout/ }).count()).toBe(1);
    expect(await report.getByRole('row', { name: /^A / }).count()).toBe(1);
    expect(await report.getByRole('row', { name: /^B / }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);

    // The mails went to the catcher, and the mail catcher page lists them.
    const sent = await database.db
      .selectFrom('campaign_recipients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'sent')
      .executeTakeFirstOrThrow();
    expect(Number(sent.n)).toBeGreaterThan(0);
    await page.goto(`${running.url}/mails`);
    await page.getByRole('article').first().waitFor();
    expect(await page.getByRole('article').count()).toBe(Math.min(50, Number(sent.n)));
  });

  it('imports a small CSV: the dry run names the bad row by its line, the import writes the good ones', async () => {
    await page.goto(`${running.url}/import`);
    const csv = [
      'external_id,name,email,phone',
      'WEB-1,Web One,web.one@example.com,03-1234-5678',
      'WEB-2,Web Two,not-an-email,03-1234-5679',
      'WEB-3,Web Three,web.three@example.com,03-1234-5670',
    ].join('\n');
    await page.locator('input[type=file]').setInputFiles({
      name: 'customers.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await page.getByRole('button', { name: 'Dry run (check only)' }).click();
    const errors = page.getByTestId('import-errors');
    await errors.waitFor();
    // The header is line 1, so WEB-2 is line 3.
    const row = errors.locator('tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').first().textContent()).toBe('3');
    expect(await row.textContent()).toContain('not-an-email');
    expect(await seriousViolations(page)).toEqual([]);
    const before = await database.db
      .selectFrom('customers')
      .select('id')
      .where('external_id', 'like', 'WEB-%')
      .execute();
    expect(before).toEqual([]);

    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText(/^Imported 3 rows — 2 new/).waitFor({ timeout: 30_000 });
    const after = await database.db
      .selectFrom('customers')
      .select('external_id')
      .where('external_id', 'like', 'WEB-%')
      .orderBy('external_id')
      .execute();
    expect(after.map((r) => r.external_id)).toEqual(['WEB-1', 'WEB-3']);
  });

  it('shows store staff only what their role allows', async () => {
    await signIn('web-staff');
    await page.getByTestId('staff-role').waitFor();
    expect(await page.getByTestId('staff-role').textContent()).toBe('Store staff');
    const nav = page.getByRole('navigation');
    expect(await nav.getByRole('link', { name: 'Customers' }).count()).toBe(1);
    expect(await nav.getByRole('link', { name: 'Dashboard' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Segments' }).count()).toBe(0);
    expect(page.url()).toMatch(/\/customers$/);
  });

  it('makes an account with a one-time password choose its own first', async () => {
    await signIn('web-new');
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await page.getByLabel(/^One-time \(current\) password/).fill(PASSWORD);
    await page.getByLabel(/^New password(?! again)/).fill('a brand new password 2');
    await page.getByLabel(/^New password again/).fill('a brand new password 2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed. Sign in with the new password.').waitFor();
  });
});
