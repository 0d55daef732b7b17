import { test, expect } from '@playwright/test';
import { admin, viewer, signIn, sql } from './helpers';

// Issue 3: installing an extension and its Settings tab. e2e.vault is
// published but not installed by global-setup; only this spec installs it.

test('an admin installs from the catalog, configures, sets a secret, disables, enables and uninstalls', async ({ page }) => {
  await signIn(page, admin);
  await page.getByTestId('open-catalog').click();
  await expect(page).toHaveURL(/\/extensions\/catalog$/);
  const card = page.getByTestId('catalog-e2e.vault');
  await expect(card).toContainText('E2E Vault');
  await card.getByTestId('install-e2e.vault').click();

  await expect(page).toHaveURL(/\/extensions\/e2e\.vault\/settings$/);
  await expect(page.locator('#toasts')).toContainText('E2E Vault 1.0.0 installed');
  await expect(page.getByTestId('install-status')).toHaveText('Enabled');
  await expect(page.getByTestId('providers')).toContainText('cap:http.fetch');

  // Config: the schema's default is filled in; a change is saved.
  const baseURL = page.getByLabel('Base URL');
  await expect(baseURL).toHaveValue('https://vault.example');
  await baseURL.fill('https://vault.internal');
  await page.getByTestId('config-save').click();
  await expect(page.getByTestId('config-saved')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Base URL')).toHaveValue('https://vault.internal');
  expect(sql(`SELECT i.config->>'base_url' FROM tenant_extension_install i JOIN extension e ON e.id = i.extension_id
    JOIN tenant t ON t.id = i.tenant_id WHERE e.slug = 'e2e.vault' AND t.name = 'E2E Corp'`)).toBe('https://vault.internal');

  // A secret is write-only: it is marked set and never rendered back.
  await expect(page.getByTestId('secret-unset-api_key')).toBeVisible();
  await page.getByLabel('API key').fill('s3cret-Value-42');
  await page.getByTestId('secrets-save').click();
  await expect(page.getByTestId('secrets-saved')).toBeVisible();
  await expect(page.getByTestId('secret-set-api_key')).toBeVisible();
  await expect(page.locator('#secret-api_key')).toHaveValue('');
  expect(await page.content()).not.toContain('s3cret-Value-42');
  const stored = sql(`SELECT encode(i.secrets_ciphertext, 'escape') FROM tenant_extension_install i JOIN extension e ON e.id = i.extension_id
    JOIN tenant t ON t.id = i.tenant_id WHERE e.slug = 'e2e.vault' AND t.name = 'E2E Corp'`);
  expect(stored.length).toBeGreaterThan(0);
  expect(stored).not.toContain('s3cret-Value-42');

  // Disable and enable.
  await page.getByTestId('install-disable').click();
  await expect(page.getByTestId('install-status')).toHaveText('Disabled');
  await expect(page.getByRole('note')).toContainText('disabled');
  await page.getByTestId('install-enable').click();
  await expect(page.getByTestId('install-status')).toHaveText('Enabled');

  // Uninstall asks first; cancelling keeps it.
  await page.getByTestId('install-uninstall').click();
  const dialog = page.locator('dialog#confirm-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('Uninstall E2E Vault?');
  await dialog.getByTestId('confirm-no').click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(/\/extensions\/e2e\.vault\/settings$/);

  await page.getByTestId('install-uninstall').click();
  await dialog.getByTestId('confirm-yes').click();
  await expect(page).toHaveURL(/\/extensions$/);
  await expect(page.getByTestId('install-row-e2e.vault')).toHaveCount(0);
  await page.goto('/extensions/catalog');
  await expect(page.getByTestId('install-e2e.vault')).toBeVisible();
});

test('a config error shows under its field and keeps what was typed', async ({ page }) => {
  await signIn(page, admin);
  await page.goto('/extensions/acme.crm-sync/settings');
  const account = page.getByLabel('CRM account');
  await account.fill('   ');
  await page.getByLabel('Region').fill('us-typed');
  await page.getByTestId('config-save').click();
  await expect(page.getByTestId('field-error-config.account')).toContainText('required');
  await expect(page.getByLabel('Region')).toHaveValue('us-typed');
});

test('the extension list shows status, version and available updates; endpoints say whether they are schedulable', async ({ page }) => {
  await signIn(page, admin);
  await page.goto('/extensions');
  const row = page.getByTestId('install-row-acme.crm-sync');
  await expect(row).toContainText('1.0.0');
  await expect(row.getByTestId('update-available-acme.crm-sync')).toHaveText('2.0.0 available');
  await expect(row.getByTestId('install-status')).toHaveText('Enabled');

  await row.getByRole('link', { name: 'CRM Sync' }).click();
  await expect(page).toHaveURL(/\/extensions\/acme\.crm-sync\/settings$/);
  const eps = page.getByTestId('endpoints-table');
  await expect(eps.getByTestId('endpoint-POST-/sync/contacts')).toContainText('Schedulable');
  await expect(eps.getByTestId('endpoint-DELETE-/cache')).toContainText('Not schedulable');
  await expect(eps.getByTestId('endpoint-DELETE-/cache')).toContainText('only GET and POST');
  await expect(eps.getByTestId('endpoint-GET-/contacts/{id}')).toContainText('path has parameters');

  // /extensions/{slug} opens the Settings tab.
  await page.goto('/extensions/acme.crm-sync');
  await expect(page).toHaveURL(/\/extensions\/acme\.crm-sync\/settings$/);
});

test('a viewer sees settings read-only and cannot change them', async ({ page }) => {
  await signIn(page, viewer);
  await page.goto('/extensions/acme.crm-sync/settings');
  await expect(page.getByTestId('endpoints-table')).toBeVisible();
  await expect(page.getByTestId('config-save')).toHaveCount(0);
  await expect(page.getByTestId('secrets-save')).toHaveCount(0);
  await expect(page.getByTestId('install-disable')).toHaveCount(0);
  await expect(page.getByTestId('install-uninstall')).toHaveCount(0);
  await expect(page.getByLabel('Region')).toHaveAttribute('readonly', '');
  await page.goto('/extensions/catalog');
  await expect(page.locator('[data-testid^="install-"]')).toHaveCount(0);

  const csrf = await page.locator('body').getAttribute('data-csrf');
  const res = await page.request.post('/extensions/acme.crm-sync/disable', { form: { _csrf: csrf! } });
  expect(res.status()).toBe(403);
  expect(sql(`SELECT i.enabled FROM tenant_extension_install i JOIN extension e ON e.id = i.extension_id
    JOIN tenant t ON t.id = i.tenant_id WHERE e.slug = 'acme.crm-sync' AND t.name = 'E2E Corp'`)).toBe('t');
});
