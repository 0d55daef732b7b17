import { test, expect } from '@playwright/test';
import { admin, signIn } from './helpers';

test('a user sets and clears their time zone', async ({ page }) => {
  await signIn(page, admin);
  await page.goto('/profile');
  await page.getByLabel('Time zone').fill('Asia/Tokyo');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('profile-saved')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Time zone')).toHaveValue('Asia/Tokyo');

  await page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('field-error-timezone')).toContainText('Unknown time zone');
  await expect(page.getByLabel('Time zone')).toHaveValue('Mars/Olympus_Mons');
  await page.goto('/profile');
  await expect(page.getByLabel('Time zone')).toHaveValue('Asia/Tokyo');

  await page.getByLabel('Time zone').fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('profile-saved')).toBeVisible();
  await expect(page.getByLabel('Time zone')).toHaveValue('');
});

test('a POST without the CSRF token is refused and changes nothing', async ({ page }) => {
  await signIn(page, admin);
  await page.goto('/profile');
  const before = await page.getByLabel('Time zone').inputValue();
  // The browser sends the session cookie, but not the token.
  const res = await page.request.post('/profile', { form: { timezone: 'Europe/Paris' } });
  expect(res.status()).toBe(403);
  await page.reload();
  await expect(page.getByLabel('Time zone')).toHaveValue(before);

  const withWrongToken = await page.request.post('/profile', { form: { timezone: 'Europe/Paris', _csrf: 'forged' } });
  expect(withWrongToken.status()).toBe(403);
});
