// Opens one page in headless Chromium through puppeteer-core (from tests/tooling, installed by npm ci
// from its lock file) and reports, as one JSON line, what the page left in window.__result and what
// the browser saw: console lines, page errors and every request with its answer.
// Usage: node visit.cjs <tests/tooling folder> <chromium executable> <url> <timeout ms> [steps.cjs]
// A steps module exports async (page) => value; without one the visit waits for window.__result.
// Either way it then waits until the page has no request in flight, and keeps the page open until
// its standard input ends (the test has seen what it waited for), so an SDK retrying in the
// background goes on until then.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');

const [toolingFolder, executablePath, url, timeoutText, stepsPath] = process.argv.slice(2);
const tooling = createRequire(path.join(toolingFolder, 'package.json'));
const puppeteer = tooling('puppeteer-core');
const timeout = Number(timeoutText);

async function main() {
  const released = new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'journey-chromium-'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    // Tests run offline: any name but localhost fails to resolve, so a page reaching for a CDN
    // fails visibly instead of waiting on the network. --no-sandbox because CI runs as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
  const report = { result: null, console: [], errors: [], requests: [] };
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => report.errors.push(String(e && e.message ? e.message : e)));
    const requests = new Map();
    page.on('request', (r) => {
      const entry = { method: r.method(), url: r.url(), contentType: r.headers()['content-type'] ?? null, status: null, failure: null };
      requests.set(r, entry);
      report.requests.push(entry);
    });
    page.on('requestfinished', (r) => { const e = requests.get(r); if (e) e.status = r.response()?.status() ?? null; });
    page.on('requestfailed', (r) => { const e = requests.get(r); if (e) e.failure = r.failure()?.errorText ?? 'failed'; });
    await page.goto(url, { waitUntil: 'load' });
    if (stepsPath) {
      report.result = await require(path.resolve(stepsPath))(page);
    } else {
      await page.waitForFunction(() => window.__result !== undefined);
      report.result = await page.evaluate(() => window.__result);
    }

    // A page may report before its last requests are answered (an SDK delivers in the
    // background): the report waits for them.
    await page.waitForNetworkIdle({ idleTime: 300 });
    await released;
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }

  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(2);
});
