import { test, expect, Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { admin, ensureOperator, operator, signIn, unique, newTenant, seedInstall, sql, quote } from './helpers';

// Writes docs/screenshots/<page>-<width>.png of every page the extension
// and schedule UI has. Run with SCREENSHOTS=1 npx playwright test screenshots.
// playwright.config.ts only picks this file up when SCREENSHOTS is set.

const dir = 'docs/screenshots';
const tab = '/extensions/acme.crm-sync/schedules';

async function shoot(page: Page, name: string, width: number) {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: `${dir}/${name}-${width}.png`, fullPage: true, animations: 'disabled' });
}

// seed gives the Schedules tab a few realistic rows (idempotent by name).
async function seed(page: Page) {
  await page.goto(tab);
  const rows = [
    { name: 'Nightly contact sync', endpoint: 'POST /sync/contacts — syncContacts', cron: '0 2 * * *', tz: 'Europe/Berlin', payload: '{"full": false, "batch": 200}' },
    { name: 'Cache refresh', endpoint: 'GET /cache/refresh — refreshCache', cron: '*/15 * * * *', tz: 'UTC', payload: '' },
    { name: 'Weekday reminders', endpoint: 'POST /reminders/send — sendReminders', cron: '0 9 * * 1-5', tz: 'America/New_York', payload: '{"channel": "email"}' },
  ];
  for (const r of rows) {
    if ((await page.locator('[data-testid^="schedule-row-"]', { hasText: r.name }).count()) > 0) continue;
    await page.getByTestId('schedule-new').click();
    await page.locator('select[name="endpoint_id"]').selectOption({ label: r.endpoint });
    await page.locator('input[name="name"]').fill(r.name);
    await page.locator('input[name="cron"]').fill(r.cron);
    await page.locator('input[name="timezone"]').fill(r.tz);
    await page.locator('textarea[name="payload_json"]').fill(r.payload);
    await page.getByTestId('schedule-save').click();
    await expect(page).toHaveURL(new RegExp(tab + '$'));
  }
  const row = page.locator('[data-testid^="schedule-row-"]', { hasText: 'Nightly contact sync' });
  const id = (await row.getAttribute('data-testid'))!.replace('schedule-row-', '');
  const runs = await page.request.get(`${tab}/${id}`);
  if (!(await runs.text()).includes('run-row-')) {
    await page.getByTestId(`schedule-run-now-${id}`).click();
    await expect(page.locator('#toasts')).toContainText('Run queued');
  }
  // A week of nightly history with every outcome the engine records, so
  // the schedule page shows what each looks like.
  if (sql(`SELECT count(*) FROM tenant_extension_schedule_run WHERE schedule_id = ${quote(id)} AND trigger = 'schedule'`) === '0') {
    sql(`INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
           invocation_id, attempt, status, started_at, finished_at, duration_ms, http_status, response_excerpt, error, created_at)
         SELECT s.tenant_id, gen_random_uuid(), s.id, s.install_id, 'schedule', x.at, gen_random_uuid(), x.attempt, x.status,
                CASE WHEN x.attempt > 0 THEN x.at END, x.at + make_interval(secs => coalesce(x.ms, 0) / 1000.0),
                x.ms, x.http, x.excerpt, x.error, x.at
         FROM tenant_extension_schedule s,
              LATERAL (SELECT (date_trunc('day', now() AT TIME ZONE 'Europe/Berlin') - d.n * interval '1 day' + interval '2 hours')
                                AT TIME ZONE 'Europe/Berlin' AS at, d.*
                       FROM (VALUES
                         (1, 'success', 1, 1240, 200, '{"synced": 1843}', NULL),
                         (2, 'failure', 3, 860, 503, '{"error": "CRM API unavailable"}', 'extension status 503 after 3 attempts: CRM API unavailable'),
                         (3, 'timeout', 1, 30000, NULL, NULL, 'timeout after 30s: the extension did not answer'),
                         (4, 'skipped', 0, NULL, NULL, NULL, 'skipped: a run of this schedule was still in flight (overlap policy skip)'),
                         (5, 'missed', 0, NULL, NULL, NULL, 'missed: the scheduler did not fire this in time (catch-up policy latest, window 1h0m0s)'),
                         (6, 'success', 1, 1105, 200, '{"synced": 1790}', NULL)
                       ) AS d(n, status, attempt, ms, http, excerpt, error)) AS x
         WHERE s.id = ${quote(id)}`);
  }
  // Let the engine finish the run, so the pages show a real result.
  await expect.poll(async () => (await (await page.request.get(`${tab}/${id}`)).text()).includes('data-testid="run-status">success'),
    { timeout: 60_000, intervals: [1_000] }).toBe(true);
  return id;
}

test('screenshots of every page at 1280 and 390 px', async ({ page }) => {
  test.setTimeout(180_000);
  mkdirSync(dir, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, admin);
  const id = await seed(page);

  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
    await page.goto('/extensions');
    await shoot(page, 'extensions', width);
    await page.goto('/extensions/catalog');
    await shoot(page, 'catalog', width);
    await page.goto('/extensions/acme.crm-sync/settings');
    await shoot(page, 'extension-settings', width);
    await page.goto(tab);
    await page.locator('#toasts .toast').evaluateAll((els) => els.forEach((e) => e.remove()));
    await shoot(page, 'schedules', width);
    await page.getByTestId(`schedule-delete-${id}`).click();
    await expect(page.locator('dialog#confirm-dialog')).toBeVisible();
    await page.screenshot({ path: `${dir}/confirm-dialog-${width}.png`, animations: 'disabled' });
    await page.keyboard.press('Escape');
    await page.goto('/extensions/acme.flaky/schedules');
    await shoot(page, 'schedules-empty', width);
    await page.goto('/extensions/acme.webhooks-only/schedules');
    await shoot(page, 'schedules-no-endpoints', width);
    await page.goto(tab + '/new');
    await page.locator('select[name="endpoint_id"]').selectOption({ label: 'POST /sync/contacts — syncContacts' });
    await page.locator('input[name="cron"]').fill('0 9 * * 1-5');
    await page.locator('input[name="timezone"]').fill('Europe/Berlin');
    await expect(page.getByTestId('schedule-preview')).toContainText('Europe/Berlin');
    await shoot(page, 'schedule-new', width);
    await page.locator('input[name="name"]').fill(unique('Shot'));
    await page.locator('input[name="cron"]').fill('*/2 * * * *');
    await page.locator('details.advanced summary').click();
    await page.getByTestId('schedule-save').click();
    await expect(page.getByTestId('field-error-cron')).toBeVisible();
    await shoot(page, 'schedule-form-errors', width);
    await page.goto(`${tab}/${id}`);
    await shoot(page, 'schedule-detail', width);
    await page.goto('/audit');
    await shoot(page, 'audit', width);
  }
});

// The version update dialog, blocked and clean, each on a tenant of its
// own so the lists hold only the schedules seeded here.
test('screenshots of the update dialog at 1280 and 390 px', async ({ page }) => {
  test.setTimeout(120_000);
  mkdirSync(dir, { recursive: true });
  const kept = [
    { name: 'Nightly contact sync', route: 'POST /sync/contacts' },
    { name: 'Cache refresh', route: 'GET /cache/refresh', enabled: false },
  ];
  const blocked = newTenant('Shots Update Blocked');
  await seedInstall(blocked, 'acme.crm-sync', '1.0.0', [...kept, { name: 'Weekday reminders', route: 'POST /reminders/send' }]);
  const clean = newTenant('Shots Update Clean');
  await seedInstall(clean, 'acme.crm-sync', '1.0.0', kept);

  for (const [name, who] of [['update-blocked', blocked.admin], ['update-clean', clean.admin]] as const) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, who);
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
      await page.goto('/extensions/acme.crm-sync/settings');
      await page.getByTestId('update-version-select').selectOption('2.0.0');
      await page.getByTestId('update-review').click();
      await expect(page.locator('dialog#update-dialog')).toBeVisible();
      await page.screenshot({ path: `${dir}/${name}-${width}.png`, animations: 'disabled' });
    }
    await page.context().clearCookies();
  }
});

// The operator health page, after a reconciliation run from it.
test('screenshots of the operator health page at 1280 and 390 px', async ({ page }) => {
  mkdirSync(dir, { recursive: true });
  ensureOperator();
  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, operator);
  await page.goto('/admin/health');
  await page.getByTestId('health-reconcile').click();
  await expect(page.getByTestId('health-last')).toContainText(operator.email);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
    await page.goto('/admin/health');
    await page.locator('#toasts .toast').evaluateAll((els) => els.forEach((e) => e.remove()));
    await shoot(page, 'admin-health', width);
  }
});
