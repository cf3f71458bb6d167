import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import { WEB_APP_DIR } from '../../src/api/web-app.ts';
import type { Database } from '../../src/db/index.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can (in CI they always must). */
export function browserUnavailable(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.env.CI === 'true') return null; // fail loudly in CI rather than skip
  return `browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; CI installs it)`;
}

/** Builds the web app into dist/web when it is not built yet (CI builds it before the tests). */
export async function ensureWebAppBuilt(): Promise<void> {
  if (existsSync(join(WEB_APP_DIR, 'index.html'))) return;
  const { build } = await import('vite');
  await build({
    configFile: fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
  });
}

export type Running = { server: KizunaServer; url: string; close(): Promise<void> };

/** The real server on 127.0.0.1 at a free port, serving the built web app at /. */
export async function startServer(database: Database): Promise<Running> {
  const server = buildServer(database);
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url, close: () => server.close() };
}

export type Browser = { context: BrowserContext; page: Page; close(): Promise<void> };

/** Debian's Chromium, headless, with a fresh profile that is removed afterwards. */
export async function launchBrowser(locale = 'en-US'): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'kizuna-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** axe-core run in the page: the violations of impact serious or critical. */
export async function seriousViolations(
  page: Page,
): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  const source = await import('axe-core');
  // Evaluated through the DevTools protocol: the app's CSP (rightly) refuses an injected inline script.
  await page.evaluate(source.default.source);
  const result = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<unknown> } })
      .axe;
    return axe.run(document, { resultTypes: ['violations'] });
  })) as { violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
}
