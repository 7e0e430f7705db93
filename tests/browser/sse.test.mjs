// GraphQL over Server-Sent Events (`/graphql/stream`) with the `graphql-sse`
// reference client (its browser build, distinct connections mode) in
// Chromium, against a real server in trusted-documents `require` mode:
//   1. a signed-in page follows an entry: two merges arrive as `next` events,
//      in order; a second subscription resumes after the first version;
//   2. free text is refused as it is over HTTP (only ids from a manifest);
//   3. a moderator bans the user: the page's stream ends within 2 s, with
//      the reason, and the client doesn't retry.
//
//   node --test tests/browser/sse.test.mjs

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before } from 'node:test';
import { PASSWORD, collectConsole, gql, launchBrowser, mailTo, outputDir, repo, serveStatic, shooter, startServer, stories } from './support.mjs';
import { BAN, CREATE_ENTRY_KIND, CREATE_SUBMISSION, ENTRY_BY_SLUG, ENTRY_UPDATED, LOGIN, NOTIFICATION_RECEIVED, REGISTER, SUBMIT, VERIFY_EMAIL, VIEWER } from './operations.mjs';

const outDir = outputDir('sse');
const shot = shooter(outDir);
const consoleLines = [];
/** The harness manifest's id of an operation (support.mjs installs it). */
const id = (body) => createHash('sha256').update(body).digest('hex');

let browser;
let server;
let app;
let page;

const login = async (handle) => (await gql(server, LOGIN, { input: { login: handle, password: PASSWORD } })).login.accessToken;

async function merge(change) {
  const token = await login('ada');
  const { createSubmission } = await gql(server, CREATE_SUBMISSION, { input: { title: 'Admin change', changes: [change] } }, token);
  assert.equal((await gql(server, SUBMIT, { id: createSubmission.id }, token)).submitForReview.status, 'MERGED');
}

before(async () => {
  // A page on its own origin that loads the client's browser build, as a site would.
  const root = mkdtempSync(join(tmpdir(), 'xpr-sse-page-'));
  copyFileSync(join(repo, 'tests/browser/node_modules/graphql-sse/umd/graphql-sse.min.js'), join(root, 'graphql-sse.js'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>SSE</title><script src="/graphql-sse.js"></script><pre id="log"></pre>');
  app = await serveStatic(root);
  server = await startServer({ XPR_CORS_ORIGINS: app.url, XPR_RATE_LIMIT_PER_ACCOUNT: '1000', XPR_RATE_LIMIT_PER_ADDRESS: '1000' }, { name: 'sse' });
  server.createAdmin('ada', 'ada@example.com');
  const attributeSchema = { type: 'object', properties: {} };
  await gql(server, CREATE_ENTRY_KIND, { input: { slug: 'ship', name: 'Ship', attributeSchema } }, await login('ada'));
  await gql(server, REGISTER, { input: { handle: 'nova', email: 'nova@example.com', password: PASSWORD } });
  const code = (await mailTo(server, 'nova@example.com')).match(/paste this code: (\S+)/)[1];
  await gql(server, VERIFY_EMAIL, { token: code });
  browser = await launchBrowser();
  page = await browser.newPage();
  collectConsole(page, 'page', consoleLines);
  await page.goto(app.url);
  // `subscribe(name, request, token)` records each result and the end in `window.streams[name]`.
  await page.evaluate((url) => {
    window.streams = {};
    window.subscribe = (name, request, token) => {
      const client = graphqlSse.createClient({ url, headers: () => (token ? { authorization: `Bearer ${token}` } : {}), retryAttempts: 2 });
      const stream = (window.streams[name] = { results: [], ended: null, error: null });
      stream.dispose = client.subscribe(request, {
        next: (result) => stream.results.push({ at: Date.now(), result }),
        complete: () => (stream.ended = Date.now()),
        error: (error) => ((stream.error = String(error)), (stream.ended = Date.now())),
      });
      document.getElementById('log').textContent += `${name}: subscribed\n`;
    };
  }, `${server.url}/graphql/stream`);
});

const story = stories(outDir, () => ({ browser, server, app }), consoleLines);

const results = (name, count) =>
  page.waitForFunction(([name, count]) => window.streams[name].results.length >= count, [name, count], { timeout: 10_000 }).then(() =>
    page.evaluate((name) => window.streams[name].results.map((r) => r.result), name),
  );

story('1: merges arrive as `next` events in order, and a stream resumes by cursor', async () => {
  await merge({ op: 'CREATE', kind: 'ship', fields: { slug: 'vega', title: 'Vega', attributes: {} } });
  const entry = (await gql(server, ENTRY_BY_SLUG, { slug: 'vega' })).entry.id;
  const token = await login('nova');
  await page.evaluate(([request, token]) => window.subscribe('live', request, token), [{ documentId: id(ENTRY_UPDATED), variables: { id: entry } }, token]);
  await page.waitForTimeout(300);
  await merge({ op: 'UPDATE', entryId: entry, baseRevision: 1, fields: { title: 'Vega II' } });
  await merge({ op: 'UPDATE', entryId: entry, baseRevision: 2, fields: { title: 'Vega III' } });
  const live = await results('live', 2);
  assert.deepEqual(live, [{ data: { entryUpdated: { version: 2, title: 'Vega II' } } }, { data: { entryUpdated: { version: 3, title: 'Vega III' } } }]);

  await page.evaluate(([request, token]) => window.subscribe('resumed', request, token), [{ documentId: id(ENTRY_UPDATED), variables: { id: entry, v: 2 } }, token]);
  assert.deepEqual(await results('resumed', 1), [{ data: { entryUpdated: { version: 3, title: 'Vega III' } } }]);
  await page.evaluate(() => ['live', 'resumed'].forEach((name) => window.streams[name].dispose()));
  await shot(page, 'merges');
});

story('2: a signed-in user sends ids from a manifest, not free text, as over HTTP', async () => {
  const token = await login('nova');
  await page.evaluate(([request, token]) => window.subscribe('text', request, token), [{ query: NOTIFICATION_RECEIVED }, token]);
  const [refused] = await results('text', 1);
  assert.equal(refused.errors[0].extensions.code, 'PERSISTED_QUERY_ID_REQUIRED');
  await page.waitForFunction(() => window.streams.text.ended, null, { timeout: 5_000 });
  assert.equal(await page.evaluate(() => window.streams.text.error), null, 'completed, not failed');
});

story('3: a ban ends the user\'s stream within 2 s, with the reason, and the client stops', async () => {
  const token = await login('nova');
  const nova = (await gql(server, VIEWER, {}, token)).viewer.id;
  await page.evaluate(([request, token]) => window.subscribe('banned', request, token), [{ documentId: id(NOTIFICATION_RECEIVED) }, token]);
  await page.waitForTimeout(300);
  const bannedAt = Date.now();
  assert.equal((await gql(server, BAN, { u: nova }, await login('ada'))).banUser.status, 'BANNED');
  await page.waitForFunction(() => window.streams.banned.ended, null, { timeout: 2_000 });
  const { results: heard, ended, error } = await page.evaluate(() => window.streams.banned);
  assert.ok(ended - bannedAt <= 2_000, `the stream ended ${ended - bannedAt} ms after the ban`);
  assert.equal(error, null, 'completed: the client does not retry');
  assert.equal(heard[0].result.errors[0].extensions.code, 'UNAUTHENTICATED');
  assert.equal(heard[0].result.errors[0].extensions.reason, 'SESSION_REVOKED');
  writeFileSync(join(outDir, 'ban.json'), JSON.stringify({ endedAfterMs: ended - bannedAt }) + '\n');
  await shot(page, 'banned');
});
