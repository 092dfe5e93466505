// Signs in to the console through the OpenID Connect issuer as a person would: the console sent the
// browser to its sign-in page; click through to the issuer, log in on the issuer's own page, and
// report where the browser lands, what that page says and the sign-in cookie's SameSite.
'use strict';

module.exports = async (page) => {
  await Promise.all([page.waitForNavigation(), page.click('#issuer-sign-in')]);
  const login = page.url();
  await page.type('input[name=login]', 'cx-lead');
  await page.type('input[name=password]', 'any');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  const landed = page.url();
  const problems = await page.$$eval('.problem', (all) => all.map((p) => p.textContent.trim()));
  const cookie = (await page.cookies()).find((c) => c.name === 'journey_console');
  return { login, landed, problems, sameSite: cookie ? cookie.sameSite : null };
};
