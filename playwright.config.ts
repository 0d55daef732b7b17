import { defineConfig } from '@playwright/test';

// The suite starts its own extcron (fresh data dir, free port) in
// e2e/global-setup.ts and drives Debian's Chromium.
export default defineConfig({
  testDir: 'e2e',
  // The screenshot spec refreshes docs/screenshots; it is a tool, not a
  // test, so it runs only when asked (SCREENSHOTS=1 npx playwright test screenshots).
  testIgnore: process.env.SCREENSHOTS ? [] : ['**/screenshots.spec.ts'],
  globalSetup: './e2e/global-setup.ts',
  workers: 2,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 7_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.EXTCRON_URL,
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    },
  },
});
