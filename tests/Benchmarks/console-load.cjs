// Times the web console's views as a browser loads them: signs in on the development form, then loads
// each page once to warm up and again as often as asked, reading the browser's own Navigation Timing
// entry of each load (navigation start to the end of the load event; the request's start to the
// first byte of the answer, which is the server's time on loopback). Settings come from
// JOURNEY_CONSOLE_LOAD (JSON, set for this visit's process only): the scopes to tick, the pages
// ({ name, url }) and the measured loads of each.
'use strict';

module.exports = async (page) => {
  const settings = JSON.parse(process.env.JOURNEY_CONSOLE_LOAD);
  const report = { signIn: page.url(), pages: [] };

  for (const box of await page.$$('input[name=scope]')) {
    const [value, checked] = await box.evaluate((b) => [b.value, b.checked]);
    if (settings.scopes.includes(value) !== checked) await box.click();
  }
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

  const load = async (url) => {
    const response = await page.goto(url, { waitUntil: 'load' });
    // The entry's loadEventEnd is set once the load event's handlers have returned.
    await page.waitForFunction(() => (performance.getEntriesByType('navigation')[0]?.loadEventEnd ?? 0) > 0);
    const timing = await page.evaluate(() => {
      const t = performance.getEntriesByType('navigation')[0];
      return { load: t.loadEventEnd - t.startTime, server: t.responseStart - t.requestStart, bytes: t.transferSize };
    });
    const problems = await page.$$eval('.problem', (all) => all.map((p) => p.textContent.trim()));
    return { status: response ? response.status() : null, url: page.url(), problems, ...timing };
  };

  for (const target of settings.pages) {
    const warmup = await load(target.url);
    const loads = [];
    for (let i = 0; i < settings.loads; i++) loads.push(await load(target.url));
    report.pages.push({ name: target.name, warmup, loads });
  }

  return report;
};
