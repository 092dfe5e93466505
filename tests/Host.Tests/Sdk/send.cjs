// Sends one person's journey to a Journey host's tracking API with a real SDK, as an application
// would: identify, track, page, alias, an unmapped event and a batch of 30 events, then flushes.
// With segment-consent: one track carrying the consent manager's context.consent.categoryPreferences
// (Advertising allowed, Analytics refused) instead.
// Usage: node send.cjs <segment|segment-legacy|rudderstack|segment-consent> <http://host:port> <writeKey> <prefix> <tests/tooling folder>
// The SDKs come from tests/tooling, installed by npm ci from its lock file.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');

const [sdk, url, writeKey, prefix, toolingFolder] = process.argv.slice(2);
const tooling = createRequire(path.join(toolingFolder, 'package.json'));
const person = { userId: `${prefix}-user`, anonymousId: `${prefix}-anon` };

function journey(send) {
  send('identify', { ...person, traits: { email: `${prefix}@example.com`, firstName: 'Ann', plan: 'pro' } });
  send('track', { ...person, event: 'Order Completed', properties: { order_id: `${prefix}-o1`, revenue: 129.5, currency: 'EUR' } });
  send('page', { ...person, name: 'Model EV', properties: { url: 'https://shop.example/models/ev-1', path: '/models/ev-1' } });
  send('track', { ...person, event: 'Video Played', properties: { video: 'launch' } });
  send('alias', { previousId: `${prefix}-anon2`, userId: person.userId });
  for (let i = 0; i < 30; i++) {
    send('track', { ...person, event: 'Product Added', properties: { sku: `sku-${i}` } });
  }
}

async function main() {
  const errors = [];
  if (sdk === 'segment') {
    const { Analytics } = tooling('@segment/analytics-node');
    const analytics = new Analytics({ writeKey, host: url, flushAt: 20, flushInterval: 200, maxRetries: 2 });
    analytics.on('error', (e) => errors.push(String(e && (e.reason || e.message || e.code))));
    journey((type, message) => analytics[type](message));
    await analytics.closeAndFlush({ timeout: 30000 });
  } else if (sdk === 'segment-consent') {
    const { Analytics } = tooling('@segment/analytics-node');
    const analytics = new Analytics({ writeKey, host: url, flushAt: 1, maxRetries: 2 });
    analytics.on('error', (e) => errors.push(String(e && (e.reason || e.message || e.code))));
    analytics.track({
      ...person,
      event: 'Segment Consent Preference Updated',
      context: { traits: { email: `${prefix}@example.com` }, consent: { categoryPreferences: { Advertising: true, Analytics: false } } },
    });
    await analytics.closeAndFlush({ timeout: 30000 });
  } else if (sdk === 'segment-legacy') {
    const Analytics = tooling('analytics-node');
    // One batch: its flush() does not wait for a batch its own flushAt already sent.
    const analytics = new Analytics(writeKey, { host: url, flushAt: 100, flushInterval: 200, retryCount: 0, errorHandler: (e) => errors.push(String(e && e.message)) });
    journey((type, message) => analytics[type](message));
    await analytics.flush();
  } else if (sdk === 'rudderstack') {
    const Analytics = tooling('@rudderstack/rudder-sdk-node');
    // gzip is the SDK's default: left as it is.
    const client = new Analytics(writeKey, { dataPlaneUrl: url, flushAt: 20, flushInterval: 200, retryCount: 0, errorHandler: (e) => errors.push(String(e && e.message)) });
    journey((type, message) => client[type](message));
    await client.flush();
  } else {
    throw new Error(`unknown SDK ${sdk}`);
  }

  process.stdout.write(JSON.stringify({ errors }) + '\n');
  process.exit(errors.length === 0 ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(2);
});
