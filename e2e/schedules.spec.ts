import { test, expect, Page } from '@playwright/test';
import { admin, viewer, tzBrowser, tzProfile, zonesAdmin, signIn, sql, quote, unique } from './helpers';

// Issue 6: the Schedules tab, its form, the schedule page and the testing
// contract of SPEC §7. Every spec works on schedules with unique names on
// acme.crm-sync, so specs can run in parallel.

const tab = '/extensions/acme.crm-sync/schedules';
const syncContacts = 'POST /sync/contacts — syncContacts';

type NewSchedule = { name: string; cron: string; timezone?: string; payload?: string; endpoint?: string };

async function fillForm(page: Page, s: NewSchedule) {
  const form = page.getByTestId('schedule-form');
  await form.locator('select[name="endpoint_id"]').selectOption({ label: s.endpoint ?? syncContacts });
  await form.locator('input[name="name"]').fill(s.name);
  await form.locator('input[name="cron"]').fill(s.cron);
  if (s.timezone !== undefined) await form.locator('input[name="timezone"]').fill(s.timezone);
  if (s.payload !== undefined) await form.locator('textarea[name="payload_json"]').fill(s.payload);
}

// createSchedule creates a schedule through the form and returns its id.
async function createSchedule(page: Page, s: NewSchedule): Promise<string> {
  await page.goto(tab);
  await page.getByTestId('schedule-new').click();
  await fillForm(page, s);
  await page.getByTestId('schedule-save').click();
  await expect(page).toHaveURL(new RegExp(tab + '$'));
  return rowId(page, s.name);
}

async function rowId(page: Page, name: string): Promise<string> {
  const row = page.locator('[data-testid^="schedule-row-"]', { hasText: name });
  await expect(row).toHaveCount(1);
  return (await row.getAttribute('data-testid'))!.replace('schedule-row-', '');
}

function countByName(name: string): number {
  return Number(sql(`SELECT count(*) FROM tenant_extension_schedule WHERE name = ${quote(name)}`));
}

test('an admin creates a schedule and sees it in the list and the database', async ({ page }) => {
  await signIn(page, admin);
  const name = unique('Contact sync');
  const id = await createSchedule(page, { name, cron: '15 3 * * *', timezone: 'Europe/Berlin', payload: '{"full": true, "batch": 50}' });
  const row = page.getByTestId(`schedule-row-${id}`);
  await expect(row).toContainText(name);
  await expect(row).toContainText('POST');
  await expect(row).toContainText('/sync/contacts');
  await expect(row).toContainText('15 3 * * *');
  await expect(row).toContainText('At 03:15');
  await expect(row).toContainText('Europe/Berlin');
  await expect(page.getByTestId(`schedule-toggle-${id}`)).toBeChecked();
  await expect(page.locator('#toasts')).toContainText('created');

  const got = sql(`SELECT e.method, e.path, s.cron, s.timezone, s.payload_json::text, s.enabled
    FROM tenant_extension_schedule s JOIN extension_api_endpoint e ON e.id = s.endpoint_id WHERE s.id = ${quote(id)}`);
  expect(got).toBe('POST|/sync/contacts|15 3 * * *|Europe/Berlin|{"full": true, "batch": 50}|t');
});

test.describe('the time zone defaults to profile, tenant, browser, then UTC', () => {
  test('the profile zone comes first', async ({ page }) => {
    await signIn(page, tzProfile);
    await page.goto('/profile');
    await page.getByLabel('Time zone').fill('Asia/Tokyo');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByTestId('profile-saved')).toBeVisible();
    await page.goto(tab + '/new');
    await expect(page.locator('input[name="timezone"]')).toHaveValue('Asia/Tokyo');
    const name = unique('Profile zone');
    await fillForm(page, { name, cron: '0 6 * * *' });
    await page.getByTestId('schedule-save').click();
    await expect(page).toHaveURL(new RegExp(tab + '$'));
    expect(sql(`SELECT timezone FROM tenant_extension_schedule WHERE name = ${quote(name)}`)).toBe('Asia/Tokyo');
  });

  test('then the tenant default', async ({ page }) => {
    await signIn(page, zonesAdmin);
    await page.goto(tab + '/new');
    await expect(page.locator('input[name="timezone"]')).toHaveValue('America/Sao_Paulo');
  });

  test.describe('then the browser zone', () => {
    test.use({ timezoneId: 'Australia/Adelaide' });
    test('is filled in from the browser', async ({ page }) => {
      await signIn(page, tzBrowser);
      await page.goto(tab + '/new');
      await expect(page.locator('input[name="timezone"]')).toHaveValue('Australia/Adelaide');
      // An emptied field still means the browser's zone when saving.
      const name = unique('Browser zone');
      await fillForm(page, { name, cron: '0 7 * * *', timezone: '' });
      await page.getByTestId('schedule-save').click();
      await expect(page).toHaveURL(new RegExp(tab + '$'));
      expect(sql(`SELECT timezone FROM tenant_extension_schedule WHERE name = ${quote(name)}`)).toBe('Australia/Adelaide');
    });
  });

  test.describe('else UTC', () => {
    test.use({ javaScriptEnabled: false });
    test('when the page cannot tell the browser zone', async ({ page }) => {
      await signIn(page, tzBrowser);
      await page.goto(tab + '/new');
      await expect(page.locator('input[name="timezone"]')).toHaveValue('');
      const name = unique('UTC zone');
      await fillForm(page, { name, cron: '0 8 * * *' });
      await page.getByTestId('schedule-save').click();
      await expect(page).toHaveURL(new RegExp(tab + '$'));
      expect(sql(`SELECT timezone FROM tenant_extension_schedule WHERE name = ${quote(name)}`)).toBe('UTC');
    });
  });
});

const invalid: { title: string; field: string; message: RegExp; input: Partial<NewSchedule> }[] = [
  { title: 'invalid cron', field: 'cron', message: /minute|range|field/i, input: { cron: '61 * * * *' } },
  { title: 'too-frequent cron', field: 'cron', message: /5m|5 minutes|minimum|interval/i, input: { cron: '*/2 * * * *' } },
  { title: 'both-days cron', field: 'cron', message: /day-of-month|day of month|both/i, input: { cron: '0 9 1 * 1' } },
  { title: 'scalar JSON', field: 'payload_json', message: /object or array/i, input: { payload: '42' } },
  { title: 'unknown zone', field: 'timezone', message: /zone/i, input: { timezone: 'Mars/Olympus' } },
];

test.describe('invalid input shows under its field, saves nothing and keeps what was typed', () => {
  for (const c of invalid) {
    test(c.title, async ({ page }) => {
      await signIn(page, admin);
      await page.goto(tab + '/new');
      const s = { name: unique('Invalid'), cron: '0 9 * * 1-5', timezone: 'Europe/Paris', payload: '{"keep": "me"}', ...c.input };
      await fillForm(page, s);
      await page.getByTestId('schedule-save').click();
      await expect(page.getByTestId(`field-error-${c.field}`)).toBeVisible();
      await expect(page.getByTestId(`field-error-${c.field}`)).toHaveText(c.message);
      const form = page.getByTestId('schedule-form');
      await expect(form.locator('input[name="name"]')).toHaveValue(s.name);
      await expect(form.locator('input[name="cron"]')).toHaveValue(s.cron);
      await expect(form.locator('input[name="timezone"]')).toHaveValue(s.timezone);
      await expect(form.locator('textarea[name="payload_json"]')).toHaveValue(s.payload);
      expect(countByName(s.name)).toBe(0);
    });
  }

  test('bad JSON is caught before submit', async ({ page }) => {
    await signIn(page, admin);
    await page.goto(tab + '/new');
    const s = { name: unique('Bad JSON'), cron: '0 9 * * 1-5', payload: '{"a": 1,' };
    await fillForm(page, s);
    await page.getByTestId('schedule-save').click();
    await expect(page.getByTestId('field-error-payload_json')).toContainText('not valid JSON');
    await expect(page).toHaveURL(new RegExp(tab + '/new$'));
    await expect(page.locator('textarea[name="payload_json"]')).toHaveValue(s.payload);
    expect(countByName(s.name)).toBe(0);
  });

  test('a duplicate name', async ({ page }) => {
    await signIn(page, admin);
    const name = unique('Twin');
    await createSchedule(page, { name, cron: '0 1 * * *' });
    await page.goto(tab + '/new');
    await fillForm(page, { name, cron: '0 2 * * *', payload: '[1, 2]' });
    await page.getByTestId('schedule-save').click();
    await expect(page.getByTestId('field-error-name')).toContainText('already named');
    await expect(page.locator('input[name="cron"]')).toHaveValue('0 2 * * *');
    expect(countByName(name)).toBe(1);
  });

  test.describe('without JavaScript the server checks the payload', () => {
    test.use({ javaScriptEnabled: false });
    test('bad JSON and an oversized payload', async ({ page }) => {
      await signIn(page, admin);
      await page.goto(tab + '/new');
      const name = unique('Server JSON');
      await fillForm(page, { name, cron: '0 9 * * *', payload: '{nope' });
      await page.getByTestId('schedule-save').click();
      await expect(page.getByTestId('field-error-payload_json')).toContainText('not valid JSON');
      await expect(page.locator('textarea[name="payload_json"]')).toHaveValue('{nope');

      const big = JSON.stringify({ blob: 'x'.repeat(100_001) });
      await page.locator('textarea[name="payload_json"]').fill(big);
      await page.getByTestId('schedule-save').click();
      await expect(page.getByTestId('field-error-payload_json')).toContainText('maximum');
      await expect(page.locator('input[name="name"]')).toHaveValue(name);
      expect(countByName(name)).toBe(0);
    });
  });
});

test('the live preview describes the cron and lists the next fire times as you type', async ({ page }) => {
  await signIn(page, admin);
  await page.goto(tab + '/new');
  const preview = page.getByTestId('schedule-preview');
  await page.locator('input[name="timezone"]').fill('Europe/Berlin');
  await page.locator('input[name="cron"]').fill('0 9 * * 1-5');
  await expect(preview.getByTestId('preview-description')).toHaveText('At 09:00, Monday through Friday');
  await expect(preview.getByTestId('preview-time')).toHaveCount(5);
  await expect(preview.getByTestId('preview-time').first()).toContainText('09:00');
  await expect(preview).toContainText('Europe/Berlin');

  await page.locator('input[name="cron"]').pressSequentially('x');
  await expect(preview.getByTestId('preview-error-cron')).toBeVisible();
  await page.locator('input[name="cron"]').fill('30 18 * * *');
  await expect(preview.getByTestId('preview-description')).toContainText('18:30');
  await expect(preview.getByTestId('preview-time').first()).toContainText('18:30');
});

test('an admin edits the cron and payload of a schedule', async ({ page }) => {
  await signIn(page, admin);
  const name = unique('Editable');
  const id = await createSchedule(page, { name, cron: '0 4 * * *', payload: '{"v": 1}' });
  await page.getByTestId(`schedule-edit-${id}`).click();
  await expect(page.locator('input[name="cron"]')).toHaveValue('0 4 * * *');
  await page.locator('input[name="cron"]').fill('45 22 * * 0');
  await page.locator('textarea[name="payload_json"]').fill('{"v": 2, "tags": ["a"]}');
  await page.getByTestId('schedule-save').click();
  await expect(page).toHaveURL(new RegExp(`${tab}/${id}$`));
  await expect(page.getByTestId('schedule-payload')).toContainText('"tags"');
  expect(sql(`SELECT cron, payload_json::text FROM tenant_extension_schedule WHERE id = ${quote(id)}`))
    .toBe('45 22 * * 0|{"v": 2, "tags": ["a"]}');
});

test('a stale edit shows the current values and keeps what was typed', async ({ page, context }) => {
  await signIn(page, admin);
  const name = unique('Contended');
  const id = await createSchedule(page, { name, cron: '0 5 * * *' });
  const other = await context.newPage();
  await other.goto(`${tab}/${id}/edit`);
  await page.goto(`${tab}/${id}/edit`);

  await other.locator('input[name="cron"]').fill('0 6 * * *');
  await other.getByTestId('schedule-save').click();
  await expect(other).toHaveURL(new RegExp(`${tab}/${id}$`));

  await page.locator('input[name="cron"]').fill('0 7 * * *');
  await page.getByTestId('schedule-save').click();
  await expect(page.getByTestId('schedule-stale')).toContainText('changed by someone else');
  await expect(page.getByTestId('schedule-stale')).toContainText('0 6 * * *');
  await expect(page.locator('input[name="cron"]')).toHaveValue('0 7 * * *');
  expect(sql(`SELECT cron FROM tenant_extension_schedule WHERE id = ${quote(id)}`)).toBe('0 6 * * *');
  // Saving again applies the change over the current version.
  await page.getByTestId('schedule-save').click();
  await expect(page).toHaveURL(new RegExp(`${tab}/${id}$`));
  expect(sql(`SELECT cron FROM tenant_extension_schedule WHERE id = ${quote(id)}`)).toBe('0 7 * * *');
});

test('the enabled toggle turns a schedule off and on without a reload', async ({ page }) => {
  await signIn(page, admin);
  const name = unique('Toggled');
  const id = await createSchedule(page, { name, cron: '0 3 * * 1' });
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const toggle = page.getByTestId(`schedule-toggle-${id}`);
  const enabled = () => sql(`SELECT enabled FROM tenant_extension_schedule WHERE id = ${quote(id)}`);

  await toggle.uncheck();
  await expect(page.locator('#toasts')).toContainText('turned off');
  await expect.poll(enabled).toBe('f');
  await expect(page.getByTestId(`schedule-toggle-${id}`)).not.toBeChecked();

  await page.getByTestId(`schedule-toggle-${id}`).check();
  await expect.poll(enabled).toBe('t');
  await expect(page.getByTestId(`schedule-toggle-${id}`)).toBeChecked();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('run now queues a run with a toast, the engine runs it, and a second click is rate limited', async ({ page }) => {
  await signIn(page, admin);
  const name = unique('Run me');
  const id = await createSchedule(page, { name, cron: '0 2 1 * *', payload: '{"full": false}' });
  await page.getByTestId(`schedule-run-now-${id}`).click();
  await expect(page.locator('#toasts')).toContainText('Run queued');
  await page.getByTestId(`schedule-run-now-${id}`).click();
  await expect(page.locator('#toasts [data-kind="error"]')).toContainText(/moments ago|wait/i);
  expect(Number(sql(`SELECT count(*) FROM tenant_extension_schedule_run WHERE schedule_id = ${quote(id)} AND trigger = 'manual'`))).toBe(1);

  await page.locator(`[data-testid="schedule-row-${id}"] a`, { hasText: name }).click();
  await expect(page).toHaveURL(new RegExp(`${tab}/${id}$`));
  await expect(page.getByTestId('runs-table').getByTestId('run-status')).toHaveCount(1);
  // The engine executes the run through the embedded runner; the history
  // shows its result once it lands (the first call compiles the module).
  await expect.poll(async () => {
    await page.reload();
    return (await page.getByTestId('runs-table').getByTestId('run-status').first().textContent())?.trim();
  }, { timeout: 60_000, intervals: [1_000] }).toMatch(/success/i);
  await expect(page.getByTestId('runs-table')).toContainText('200');
  await page.getByLabel('Trigger').selectOption('schedule');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('runs-empty')).toBeVisible();
});

test('delete asks for confirmation: cancel keeps the row, confirm removes it', async ({ page }) => {
  await signIn(page, admin);
  const name = unique('Doomed');
  const id = await createSchedule(page, { name, cron: '0 23 * * *' });
  const dialog = page.locator('dialog#confirm-dialog');

  await page.getByTestId(`schedule-delete-${id}`).click();
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(name);
  await dialog.getByTestId('confirm-no').click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId(`schedule-row-${id}`)).toBeVisible();
  expect(countByName(name)).toBe(1);

  await page.getByTestId(`schedule-delete-${id}`).click();
  await dialog.getByTestId('confirm-yes').click();
  await expect(page).toHaveURL(new RegExp(tab + '$'));
  await expect(page.getByTestId(`schedule-row-${id}`)).toHaveCount(0);
  expect(countByName(name)).toBe(0);
});

test('empty states: no schedules yet, and nothing schedulable', async ({ page }) => {
  await signIn(page, admin);
  await page.goto('/extensions/acme.flaky/schedules');
  await expect(page.getByTestId('schedules-empty')).toBeVisible();
  await expect(page.getByTestId('schedule-new')).toBeVisible();

  await page.goto('/extensions/acme.webhooks-only/schedules');
  const none = page.getByTestId('schedules-no-endpoints');
  await expect(none).toBeVisible();
  await expect(none).toContainText('none can be scheduled');
  await expect(none).toContainText('PUT /events/{source}');
  await expect(page.getByTestId('schedule-new')).toHaveCount(0);
});

test('a viewer sees schedules read-only, and a forged POST is refused', async ({ page, browser }) => {
  const adminContext = await browser.newContext({ baseURL: process.env.EXTCRON_URL });
  const adminPage = await adminContext.newPage();
  await signIn(adminPage, admin);
  const name = unique('Viewed');
  const id = await createSchedule(adminPage, { name, cron: '0 12 * * *' });

  await signIn(page, viewer);
  await page.goto(tab);
  await expect(page.getByTestId(`schedule-row-${id}`)).toContainText(name);
  for (const hook of ['schedule-new', `schedule-toggle-${id}`, `schedule-run-now-${id}`, `schedule-edit-${id}`, `schedule-delete-${id}`]) {
    await expect(page.getByTestId(hook)).toHaveCount(0);
  }
  await expect(page.locator('main form[method="post"]')).toHaveCount(0);
  await page.goto(`${tab}/${id}`);
  await expect(page.getByTestId('schedule-title')).toContainText(name);
  await expect(page.locator('main form[method="post"]')).toHaveCount(0);

  const csrf = await page.locator('body').getAttribute('data-csrf');
  const toggle = await page.request.post(`${tab}/${id}/toggle`, { form: { _csrf: csrf! } });
  expect(toggle.status()).toBe(403);
  const del = await page.request.post(`${tab}/${id}/delete`, { form: { _csrf: csrf! } });
  expect(del.status()).toBe(403);
  const create = await page.request.post(tab, { form: { _csrf: csrf!, name: unique('Forged'), cron: '0 1 * * *' } });
  expect(create.status()).toBe(403);
  expect(sql(`SELECT enabled FROM tenant_extension_schedule WHERE id = ${quote(id)}`)).toBe('t');
  expect((await page.goto(tab + '/new'))!.status()).toBe(403);
});

test('keyboard only: create a schedule and delete it without the mouse', async ({ page }) => {
  await signIn(page, admin);
  await page.goto(tab);
  const focusedTestId = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '');
  for (let i = 0; i < 30 && (await focusedTestId()) !== 'schedule-new'; i++) await page.keyboard.press('Tab');
  expect(await focusedTestId()).toBe('schedule-new');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(tab + '/new$'));

  const name = unique('Keyboard');
  const focusedName = () => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name ?? '');
  for (let i = 0; i < 30 && (await focusedName()) !== 'endpoint_id'; i++) await page.keyboard.press('Tab');
  const select = page.locator('select[name="endpoint_id"]');
  for (let i = 0; i < 10 && (await select.inputValue()) === ''; i++) await page.keyboard.press('ArrowDown');
  expect(await select.inputValue()).not.toBe('');
  await page.keyboard.press('Tab');
  expect(await focusedName()).toBe('name');
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  expect(await focusedName()).toBe('cron');
  await page.keyboard.type('10 10 * * *');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(tab + '$'));
  const id = await rowId(page, name);

  for (let i = 0; i < 400 && (await focusedTestId()) !== `schedule-delete-${id}`; i++) await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(page.locator('dialog#confirm-dialog')).toBeVisible();
  expect(await focusedTestId()).toBe('confirm-no');
  await page.keyboard.press('Tab');
  expect(await focusedTestId()).toBe('confirm-yes');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId(`schedule-row-${id}`)).toHaveCount(0);
});

test('a refused toggle flips back and says why inline', async ({ page }) => {
  await signIn(page, admin);
  const slowTab = '/extensions/acme.slowpoke/schedules';
  await page.goto(slowTab);
  await page.getByTestId('schedule-new').click();
  const name = unique('Refused');
  await fillForm(page, { name, cron: '0 4 * * *', endpoint: 'GET /sleep — sleep' });
  await page.getByTestId('schedule-save').click();
  await expect(page).toHaveURL(new RegExp(slowTab + '$'));
  const id = await rowId(page, name);
  await page.getByTestId(`schedule-toggle-${id}`).uncheck();
  await expect.poll(() => sql(`SELECT enabled FROM tenant_extension_schedule WHERE id = ${quote(id)}`)).toBe('f');

  await page.goto('/extensions/acme.slowpoke/settings');
  await page.getByTestId('install-disable').click();
  await expect(page.getByTestId('install-status')).toHaveText('Disabled');
  try {
    await page.goto(slowTab);
    await page.getByTestId(`schedule-toggle-${id}`).click();
    await expect(page.getByTestId(`toggle-error-${id}`)).toContainText('disabled');
    await expect(page.getByTestId(`schedule-toggle-${id}`)).not.toBeChecked();
    expect(sql(`SELECT enabled FROM tenant_extension_schedule WHERE id = ${quote(id)}`)).toBe('f');
  } finally {
    await page.goto('/extensions/acme.slowpoke/settings');
    await page.getByTestId('install-enable').click();
    await expect(page.getByTestId('install-status')).toHaveText('Enabled');
  }
});

test('the audit log shows who created a schedule, with the change', async ({ page }) => {
  await signIn(page, admin);
  const name = unique('Audited');
  const id = await createSchedule(page, { name, cron: '0 13 * * *' });
  await page.getByRole('link', { name: 'Audit log' }).click();
  const row = page.getByTestId('audit-row').filter({ hasText: id }).filter({ hasText: 'schedule.create' });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('admin@e2e.test');
  await row.getByText('Before / after').click();
  await expect(row).toContainText(name);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('the tab reads, and delete goes through a confirmation page', async ({ page }) => {
    await signIn(page, admin);
    const name = unique('No script');
    const id = await createSchedule(page, { name, cron: '0 14 * * *' });
    await expect(page.getByTestId(`schedule-row-${id}`)).toContainText('At 14:00');
    await page.getByTestId(`schedule-delete-${id}`).click();
    await expect(page).toHaveURL(new RegExp(`${tab}/${id}/delete$`));
    await page.getByTestId('confirm-no').click();
    await expect(page.getByTestId(`schedule-row-${id}`)).toBeVisible();
    await page.getByTestId(`schedule-delete-${id}`).click();
    await page.getByTestId('confirm-yes').click();
    await expect(page).toHaveURL(new RegExp(tab + '$'));
    await expect(page.getByTestId(`schedule-row-${id}`)).toHaveCount(0);
  });
});

test.describe('times and statuses on the schedule page', () => {
  test.use({ timezoneId: 'Asia/Tokyo', locale: 'en-US' });

  test('next run in the schedule zone with the viewer time on hover; skipped and missed runs in the history', async ({ page }) => {
    await signIn(page, admin);
    const name = unique('Zones and statuses');
    const id = await createSchedule(page, { name, cron: '15 3 * * *', timezone: 'America/New_York' });

    // 03:15 in New York is 17:15 in Tokyo (EST, UTC−5) or 16:15 (EDT).
    const next = page.getByTestId(`schedule-row-${id}`).locator('td[data-label="Next run"] time');
    await expect(next).toContainText(/03:15 E[SD]T/);
    await expect(next).toHaveAttribute('title', /^Your time \(Asia\/Tokyo\): .*(5|4):15\sPM$/);
    const utc = sql(`SELECT to_char(next_run_at AT TIME ZONE 'UTC', 'HH24:MI') FROM tenant_extension_schedule WHERE id = ${quote(id)}`);
    expect(['07:15', '08:15']).toContain(utc);

    // A fire time skipped by the overlap policy and one missed during
    // downtime, as the engine records them.
    sql(`INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
           invocation_id, attempt, status, error, finished_at, created_at)
         SELECT s.tenant_id, gen_random_uuid(), s.id, s.install_id, 'schedule', now() - x.ago, gen_random_uuid(), 0,
                x.status, x.error, now() - x.ago, now() - x.ago
         FROM tenant_extension_schedule s,
              (VALUES ('skipped', 'skipped: a run of this schedule was still in flight (overlap policy skip)', interval '1 day'),
                      ('missed', 'missed: the scheduler did not fire this in time (catch-up policy latest, window 1h0m0s)', interval '2 days')) AS x(status, error, ago)
         WHERE s.id = ${quote(id)}`);
    await page.goto(`${tab}/${id}`);
    const runs = page.getByTestId('runs-table');
    await expect(runs.getByTestId('run-status')).toHaveText(['skipped', 'missed']);
    await expect(runs).toContainText('overlap policy skip');
    await expect(runs).toContainText('did not fire this in time');
    await expect(runs.locator('.badge-skipped')).toHaveCount(1);
    await expect(runs.locator('.badge-missed')).toHaveCount(1);
    // No call failed: their reasons read as notes, not errors, and no
    // attempt was made.
    await expect(runs.locator('.reason-text')).toHaveCount(2);
    await expect(runs.locator('.error-text')).toHaveCount(0);
    await expect(runs.locator('td[data-label="Attempt"]')).toHaveText(['—', '—']);

    await page.locator('#run-status').selectOption('missed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect(page).toHaveURL(/status=missed/);
    await expect(runs.getByTestId('run-status')).toHaveText(['missed']);
  });
});
