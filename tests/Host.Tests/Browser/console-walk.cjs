// Walks the web console as a person would: signs in on the form, opens each view from the
// navigation, reads its numbers, saves a screenshot and runs axe-core on it, then clicks from the
// touchpoint priorities to a scorecard. For each view it also counts the SVG paths each chart drew. Settings come from JOURNEY_CONSOLE_WALK (JSON, set for this visit's process only): the scopes to
// tick, the views to open, the screenshot folder and axe-core's path.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

module.exports = async (page) => {
  const settings = JSON.parse(process.env.JOURNEY_CONSOLE_WALK);
  const axeSource = fs.readFileSync(settings.axe, 'utf8');
  const report = { signIn: page.url(), views: [], scorecard: null };

  const name = await page.$('#name');
  await name.click({ clickCount: 3 });
  await name.type('cx-lead');
  for (const box of await page.$$('input[name=scope]')) {
    const [value, checked] = await box.evaluate((b) => [b.value, b.checked]);
    if (settings.scopes.includes(value) !== checked) await box.click();
  }
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

  for (const view of settings.views) {
    const [response] = await Promise.all([page.waitForNavigation(), page.click(`nav a[href="${view}"]`)]);
    const title = await page.$eval('h1', (h) => h.textContent.trim());
    const numbers = await page.$$eval('data.n', (all) => all.map((d) => ({ name: d.dataset.name ?? null, value: d.value, digits: Number(d.dataset.digits ?? 0), text: d.textContent })));
    const problems = await page.$$eval('.problem', (all) => all.map((p) => p.textContent.trim()));
    const charts = await page.$$eval('[data-chart]', (all) => all.map((c) => ({ label: c.getAttribute('aria-label'), drawn: c.querySelectorAll('svg path').length })));
    const file = path.join(settings.screenshots, `${view.replaceAll('/', '_').replace(/^_/, '') || 'console'}.png`);
    await page.screenshot({ path: file, fullPage: true });
    await page.addScriptTag({ content: axeSource });
    const serious = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    report.views.push({ view, url: page.url(), status: response ? response.status() : null, title, numbers, problems, charts, serious, screenshot: file });
  }

  await Promise.all([page.waitForNavigation(), page.click('nav a[href="/console/touchpoints"]')]);
  await Promise.all([page.waitForNavigation(), page.click('tbody tr[data-touchpoint] a')]);
  report.scorecard = { url: page.url(), title: await page.$eval('h1', (h) => h.textContent.trim()) };
  return report;
};
