import { test, expect, Page } from '@playwright/test';
import { signIn, sql, quote, newTenant, seedInstall, api, Tenant } from './helpers';

// Issue 7: moving an installed extension to another version from its
// Settings tab. acme.crm-sync 2.0.0 keeps POST /sync/contacts and
// GET /cache/refresh but drops POST /reminders/send. Each story has a
// tenant of its own with 1.0.0 installed, so moving versions cannot
// disturb the other specs (or the other stories).

const ext = 'acme.crm-sync';
const settings = `/extensions/${ext}/settings`;
const schedulesTab = `/extensions/${ext}/schedules`;
const reason = 'disabled: endpoint POST /reminders/send is missing in version 2.0.0';

type Seeded = Tenant & { ids: Record<string, string> };

// seedTenant makes a tenant with acme.crm-sync 1.0.0 and the given
// schedules; ids maps each name to its id.
async function seedTenant(prefix: string, schedules: { name: string; route: string; enabled?: boolean }[]): Promise<Seeded> {
  const t = newTenant(prefix);
  return { ...t, ids: await seedInstall(t, ext, '1.0.0', schedules) };
}

// installedVersion reads the tenant's version of acme.crm-sync from the database.
function installedVersion(tenant: string): string {
  return sql(`SELECT v.version FROM tenant_extension_install i JOIN extension e ON e.id = i.extension_id
    JOIN extension_version v ON v.id = i.version_id JOIN tenant t ON t.id = i.tenant_id
    WHERE e.slug = ${quote(ext)} AND t.name = ${quote(tenant)}`);
}

// endpointVersion says which version the schedule's endpoint belongs to.
function endpointVersion(scheduleID: string): string {
  return sql(`SELECT v.version FROM tenant_extension_schedule s JOIN extension_api_endpoint e ON e.id = s.endpoint_id
    JOIN extension_version v ON v.id = e.version_id WHERE s.id = ${quote(scheduleID)}`);
}

async function review(page: Page, version: string) {
  await page.getByTestId('update-version-select').selectOption(version);
  await page.getByTestId('update-review').click();
}

let clean: Seeded;
let blocked: Seeded;
let readOnly: Seeded;
let noScript: Seeded;

test.beforeAll(async () => {
  test.setTimeout(60_000); // four tenants through the CLI and the API
  clean = await seedTenant('E2E Update Clean', [
    { name: 'Nightly contact sync', route: 'POST /sync/contacts' },
    { name: 'Cache refresh', route: 'GET /cache/refresh', enabled: false },
  ]);
  blocked = await seedTenant('E2E Update Blocked', [
    { name: 'Contact sync', route: 'POST /sync/contacts' },
    { name: 'Weekday reminders', route: 'POST /reminders/send' },
  ]);
  readOnly = await seedTenant('E2E Update Viewer', []);
  noScript = await seedTenant('E2E Update NoJS', [{ name: 'Reminders', route: 'POST /reminders/send' }]);
});

test('an admin updates with a clean remap, then rolls back', async ({ page }) => {
  const sync = clean.ids['Nightly contact sync'];
  const cache = clean.ids['Cache refresh'];
  await signIn(page, clean.admin);
  await page.goto(settings);
  await expect(page.getByTestId('version-current')).toHaveText('1.0.0');
  await expect(page.getByTestId('version-update-available')).toHaveText('2.0.0 available');

  // The dialog shows what moves; cancelling changes nothing.
  await review(page, '2.0.0');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('heading', { name: 'Update to 2.0.0?' })).toBeVisible();
  await expect(dialog.getByTestId(`update-remapped-${sync}`)).toContainText('Nightly contact sync');
  await expect(dialog.getByTestId(`update-remapped-${sync}`)).toContainText('POST /sync/contacts');
  await expect(dialog.getByTestId(`update-remapped-${cache}`)).toContainText('GET /cache/refresh');
  await expect(dialog.getByTestId('update-blocked-list')).toHaveCount(0);
  await expect(dialog.getByTestId('update-disable-and-update')).toHaveCount(0);
  await expect(dialog.getByTestId('update-cancel')).toBeFocused();
  await dialog.getByTestId('update-cancel').click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(new RegExp(settings + '$'));
  await expect(page.getByTestId('update-review')).toBeFocused();
  expect(installedVersion(clean.name)).toBe('1.0.0');

  await review(page, '2.0.0');
  await dialog.getByTestId('update-confirm').click();
  await expect(page).toHaveURL(new RegExp(settings + '$'));
  await expect(page.getByRole('status')).toContainText('Updated to 2.0.0; 2 schedules remapped, 0 disabled');
  await expect(page.getByTestId('version-current')).toHaveText('2.0.0');
  await expect(page.getByTestId('install-version')).toHaveText('2.0.0');
  await expect(page.getByTestId('version-update-available')).toHaveCount(0);
  expect(installedVersion(clean.name)).toBe('2.0.0');
  expect(endpointVersion(sync)).toBe('2.0.0');
  expect(endpointVersion(cache)).toBe('2.0.0');

  // Both schedules are still listed; each keeps its own on/off state.
  await page.getByTestId('tab-schedules').click();
  await expect(page.getByTestId(`schedule-row-${sync}`)).toContainText('POST /sync/contacts');
  await expect(page.getByTestId(`schedule-toggle-${sync}`)).toBeChecked();
  await expect(page.getByTestId(`schedule-toggle-${cache}`)).not.toBeChecked();
  const listed: { id: string; enabled: boolean; last_error: string | null }[] =
    (await api(clean.token, 'GET', `/extensions/${ext}/schedules`)).items;
  expect(listed.map((s) => [s.id, s.enabled]).sort()).toEqual([[sync, true], [cache, false]].sort());

  // Rolling back is the same review, towards an older version.
  await page.getByTestId('tab-settings').click();
  await review(page, '1.0.0');
  await expect(dialog.getByRole('heading', { name: 'Roll back to 1.0.0?' })).toBeVisible();
  await expect(dialog.getByTestId('update-remapped-list')).toContainText('Nightly contact sync');
  await dialog.getByTestId('update-confirm').click();
  await expect(page.getByRole('status')).toContainText('Updated to 1.0.0; 2 schedules remapped, 0 disabled');
  await expect(page.getByTestId('version-current')).toHaveText('1.0.0');
  expect(installedVersion(clean.name)).toBe('1.0.0');
  expect(endpointVersion(sync)).toBe('1.0.0');
  expect(sql(`SELECT enabled FROM tenant_extension_schedule WHERE id = ${quote(sync)}`)).toBe('t');
  expect(sql(`SELECT enabled FROM tenant_extension_schedule WHERE id = ${quote(cache)}`)).toBe('f');
});

test('a blocked update lists the schedule; disabling it lets the update through', async ({ page }) => {
  const sync = blocked.ids['Contact sync'];
  const reminders = blocked.ids['Weekday reminders'];
  await signIn(page, blocked.admin);
  await page.goto(settings);
  await review(page, '2.0.0');

  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('These schedules call endpoints that version 2.0.0 does not have');
  const list = dialog.getByTestId('update-blocked-list');
  await expect(list.locator('li')).toHaveCount(1);
  const item = list.getByTestId(`update-blocked-${reminders}`);
  await expect(item).toContainText('Weekday reminders');
  await expect(item).toContainText('POST /reminders/send');
  await expect(dialog.getByTestId(`update-remapped-${sync}`)).toContainText('Contact sync');
  await expect(dialog.getByTestId('update-confirm')).toHaveCount(0);

  // A plain "update" posted anyway is refused with the review shown again.
  const csrf = await page.locator('body').getAttribute('data-csrf');
  const refused = await page.request.post(`/extensions/${ext}/update`, { form: { _csrf: csrf!, version: '2.0.0' } });
  expect(refused.status()).toBe(409);
  const body = await refused.text();
  expect(body).toContain('changed since you reviewed');
  expect(body).toContain(`update-blocked-${reminders}`);
  expect(installedVersion(blocked.name)).toBe('1.0.0');

  // The first remedy: edit the schedule.
  await item.getByRole('link', { name: 'Edit Weekday reminders' }).click();
  await expect(page).toHaveURL(new RegExp(`${schedulesTab}/${reminders}/edit$`));
  await expect(page.getByTestId('schedule-form')).toBeVisible();
  expect(installedVersion(blocked.name)).toBe('1.0.0');

  // Disabling is limited to the schedules the review listed: a post that
  // does not list this one (as if it went missing after the review) is
  // refused, through the page and through the API.
  const unlisted = await page.request.post(`/extensions/${ext}/update`,
    { form: { _csrf: csrf!, version: '2.0.0', disable_missing_schedules: 'true' } });
  expect(unlisted.status()).toBe(409);
  expect(await unlisted.text()).toContain(`update-blocked-${reminders}`);
  const refusedAPI = await api(blocked.token, 'POST', `/extensions/${ext}/update`,
    { version: '2.0.0', disable_missing_schedules: true, disable_schedule_ids: [sync] }, [409]);
  expect(refusedAPI.code).toBe('SCHEDULE_REMAP_FAILED');
  expect(refusedAPI.missing.map((m: { schedule_id: string }) => m.schedule_id)).toEqual([reminders]);
  const malformed = await api(blocked.token, 'POST', `/extensions/${ext}/update`,
    { version: '2.0.0', disable_missing_schedules: true, disable_schedule_ids: ['nope'] }, [422]);
  expect(malformed.field_errors['disable_schedule_ids[0]']).toBe('must be a schedule id');
  expect(installedVersion(blocked.name)).toBe('1.0.0');

  // The second: disable it and update.
  await page.goto(settings);
  await review(page, '2.0.0');
  await dialog.getByTestId('update-disable-and-update').click();
  await expect(page).toHaveURL(new RegExp(settings + '$'));
  await expect(page.getByRole('status')).toContainText('Updated to 2.0.0; 1 schedule remapped, 1 disabled');
  await expect(page.getByTestId('version-current')).toHaveText('2.0.0');
  expect(installedVersion(blocked.name)).toBe('2.0.0');

  await page.getByTestId('tab-schedules').click();
  const row = page.getByTestId(`schedule-row-${reminders}`);
  await expect(page.getByTestId(`schedule-toggle-${reminders}`)).not.toBeChecked();
  await expect(row).toContainText('Off');
  await expect(row).toContainText(reason);
  await expect(page.getByTestId(`schedule-toggle-${sync}`)).toBeChecked();

  const got = await api(blocked.token, 'GET', `/extensions/${ext}/schedules/${reminders}`);
  expect([got.enabled, got.last_error]).toEqual([false, reason]);
  expect(sql(`SELECT enabled, runner_schedule_id IS NULL FROM tenant_extension_schedule WHERE id = ${quote(reminders)}`)).toBe('f|t');
  expect(sql(`SELECT enabled, last_error IS NULL FROM tenant_extension_schedule WHERE id = ${quote(sync)}`)).toBe('t|t');
  expect(endpointVersion(sync)).toBe('2.0.0');
});

test('a viewer sees the version and the update available, with no update controls', async ({ page }) => {
  await signIn(page, readOnly.viewer);
  await page.goto(settings);
  await expect(page.getByTestId('version-current')).toHaveText('1.0.0');
  await expect(page.getByTestId('version-update-available')).toHaveText('2.0.0 available');
  await expect(page.getByTestId('update-version-select')).toHaveCount(0);
  await expect(page.getByTestId('update-review')).toHaveCount(0);
  await expect(page.getByTestId('update-dialog')).toHaveCount(0);

  // The server refuses the routes too.
  expect((await page.request.get(`/extensions/${ext}/update?version=2.0.0`)).status()).toBe(403);
  const csrf = await page.locator('body').getAttribute('data-csrf');
  const res = await page.request.post(`/extensions/${ext}/update`, { form: { _csrf: csrf!, version: '2.0.0' } });
  expect(res.status()).toBe(403);
  expect(installedVersion(readOnly.name)).toBe('1.0.0');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the review is a page with the same content and forms', async ({ page }) => {
    const reminders = noScript.ids['Reminders'];
    await signIn(page, noScript.admin);
    await page.goto(settings);
    await review(page, '2.0.0');
    await expect(page).toHaveURL(new RegExp(`/extensions/${ext}/update\\?version=2\\.0\\.0$`));
    const card = page.getByTestId('update-dialog');
    await expect(card.getByRole('heading', { level: 1, name: 'Update to 2.0.0?' })).toBeVisible();
    await expect(card.getByTestId(`update-blocked-${reminders}`)).toContainText('POST /reminders/send');

    await card.getByTestId('update-cancel').click();
    await expect(page).toHaveURL(new RegExp(settings + '$'));
    expect(installedVersion(noScript.name)).toBe('1.0.0');

    await review(page, '2.0.0');
    await page.getByTestId('update-disable-and-update').click();
    await expect(page).toHaveURL(new RegExp(settings + '$'));
    await expect(page.getByRole('status')).toContainText('Updated to 2.0.0; 0 schedules remapped, 1 disabled');
    await expect(page.getByTestId('version-current')).toHaveText('2.0.0');
    expect(sql(`SELECT enabled, last_error FROM tenant_extension_schedule WHERE id = ${quote(reminders)}`)).toBe(`f|${reason}`);
  });
});
