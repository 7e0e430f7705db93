// The overlay (examples/overlay) in Chromium against a real server.
//
//   node --test tests/browser/overlay.test.mjs
//
// Builds the overlay when its build is older than its sources, serves it
// statically, starts the server with 4-second access tokens and plays the
// stories of issue 18 that the overlay owns:
//   1. an author signs in on the overlay; a moderator approves the author's
//      submission over HTTP: the "merged" toast shows within 2 s;
//   3. the overlay's socket is cut from the server side and its network is
//      blocked, three merges to the followed entry happen meanwhile; once the
//      network is back the overlay shows all three versions, once each, in order;
//   4. events keep arriving across several token expiries and a reconnect,
//      without a reload; the reconnect sends a fresh token.
// Each step saves a screenshot; on failure the server log and the console are
// kept beside them.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { PASSWORD, buildExample, collectConsole, expiry, gql, launchBrowser, mailTo, outputDir, repo, serveStatic, shooter, startServer, stories } from './support.mjs';
import { APPROVE, CREATE_ENTRY_KIND, CREATE_SUBMISSION, ENTRY_BY_SLUG, ENTRY_VERSION, LOGIN, REGISTER, SUBMIT, VERIFY_EMAIL } from './operations.mjs';

const overlay = join(repo, 'examples/overlay');
const dist = join(overlay, 'dist');
const TOKEN_TTL_SECS = 4;
/** The server accepts an expired access token for this long. */
const LEEWAY_SECS = 5;

const outDir = outputDir('overlay');
const shot = shooter(outDir);
const consoleLines = [];

let browser;
let server;
let app;

async function login(handle) {
  return (await gql(server, LOGIN, { input: { login: handle, password: PASSWORD } })).login;
}

async function verifiedUser(handle) {
  const email = `${handle}@example.com`;
  await gql(server, REGISTER, { input: { handle, email, password: PASSWORD } });
  const code = (await mailTo(server, email)).match(/paste this code: (\S+)/)[1];
  await gql(server, VERIFY_EMAIL, { token: code });
}

/** A pending submission by `handle` (an untrusted user: it waits for a moderator). */
async function submit(handle, title, change) {
  const { accessToken } = await login(handle);
  const { createSubmission } = await gql(server, CREATE_SUBMISSION, { input: { title, changes: [change] } }, accessToken);
  const { submitForReview } = await gql(server, SUBMIT, { id: createSubmission.id }, accessToken);
  assert.equal(submitForReview.status, 'PENDING');
  return createSubmission.id;
}

async function approve(submissionId) {
  const { accessToken } = await login('ada');
  const { approveSubmission } = await gql(server, APPROVE, { id: submissionId }, accessToken);
  assert.ok(approveSubmission.merged, 'merged');
  return approveSubmission;
}

/** The admin's change, merged on submit (trusted). */
async function adminMerge(change) {
  const { accessToken } = await login('ada');
  const { createSubmission } = await gql(server, CREATE_SUBMISSION, { input: { title: 'Admin change', changes: [change] } }, accessToken);
  const { submitForReview } = await gql(server, SUBMIT, { id: createSubmission.id }, accessToken);
  assert.equal(submitForReview.status, 'MERGED');
}

async function entryVersion(id) {
  return (await gql(server, ENTRY_VERSION, { id })).entry.version;
}

const retitle = async (id, title) => adminMerge({ op: 'UPDATE', entryId: id, baseRevision: await entryVersion(id), fields: { title } });

/** The sockets of each context (a proxy the test can close) and each `connection_init`'s token. */
const sockets = [];
const socketTokens = [];
let cut = false;

async function overlayPage(who, query) {
  const context = await browser.newContext({ viewport: { width: 360, height: 520 } });
  await context.routeWebSocket(/\/graphql$/, (ws) => {
    // While "cut", the server side refuses every connection at once.
    if (cut) return ws.close({ code: 1001, reason: 'cut by the test' });
    ws.connectToServer();
    sockets.push(ws);
  });
  const page = await context.newPage();
  collectConsole(page, who, consoleLines);
  page.on('websocket', (socket) =>
    socket.on('framesent', (frame) => {
      const message = JSON.parse(String(frame.payload));
      if (message.type === 'connection_init') socketTokens.push({ who, token: message.payload?.authToken, at: Date.now() });
    }),
  );
  await page.goto(`${app.url}/?${new URLSearchParams({ server: server.url, toast: '0', ...query })}`);
  return page;
}

const connected = (page) => page.locator('[data-testid=status][data-status=connected]').waitFor({ timeout: 15_000 });

before(async () => {
  buildExample(overlay, { script: 'build', output: join(dist, 'persisted-query-manifest.json'), sources: ['src', 'index.html', 'vite.config.js', 'package-lock.json'] });
  app = await serveStatic(dist);
  server = await startServer(
    {
      XPR_CORS_ORIGINS: app.url,
      XPR_PUBLIC_URL: app.url,
      XPR_ACCESS_TOKEN_TTL_SECS: String(TOKEN_TTL_SECS),
      XPR_RATE_LIMIT_PER_ACCOUNT: '1000',
      XPR_RATE_LIMIT_PER_ADDRESS: '1000',
      // Nova's submissions must keep waiting for review however many rounds of
      // approvals the machine fits in before the tokens expire.
      XPR_TRUST_REPUTATION: '1000000',
    },
    { name: 'overlay', manifests: [join(dist, 'persisted-query-manifest.json')] },
  );
  server.createAdmin('ada', 'ada@example.com');
  await gql(
    server,
    CREATE_ENTRY_KIND,
    { input: { slug: 'ship', name: 'Ship', attributeSchema: { type: 'object', properties: { crew: { type: 'integer', minimum: 1 } }, required: ['crew'] } } },
    (await login('ada')).accessToken,
  );
  await verifiedUser('nova');
  browser = await launchBrowser();
});

/** A failed story keeps the server log beside the consoles and screenshots. */
const story = stories(outDir, () => ({ browser, server, app }), consoleLines);

let entryId;

story('1: the author signs in on the overlay; the moderator approves: the "merged" toast shows within 2 s', async () => {
  const page = await overlayPage('author', {});
  await page.locator('input[name=login]').fill('nova');
  await page.locator('input[name=password]').fill(PASSWORD);
  await shot(page, 'sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await connected(page);
  await shot(page, 'signed-in');

  const submission = await submit('nova', 'Add Nova', { op: 'CREATE', kind: 'ship', fields: { slug: 'nova', title: 'Nova', body: 'A courier.\n', attributes: { crew: 2 } } });
  await approve(submission);
  const approvedAt = Date.now();
  const toast = page.locator('[data-testid=toast][data-kind=SUBMISSION_MERGED]');
  await toast.waitFor({ timeout: 2_000 });
  const within = Date.now() - approvedAt;
  assert.ok(within <= 2_000, `the toast showed ${within} ms after the approval`);
  assert.match(await toast.innerText(), /Nova/i);
  await shot(page, 'merged-toast');
  entryId = (await gql(server, ENTRY_BY_SLUG, { slug: 'nova' })).entry.id;
  await page.context().close();
});

let follower;

story('3: the socket is cut and the network blocked while three merges happen: all three show, once each, in order', async () => {
  const tokens = await login('nova');
  follower = await overlayPage('follower', { entry: entryId, token: tokens.accessToken, refresh: tokens.refreshToken });
  await connected(follower);
  await follower.locator('[data-testid=entry][data-version="1"]').waitFor();
  assert.ok(!follower.url().includes('token='), 'the token left the address bar');
  await follower.evaluate(() => (window.__sameDocument = true));
  await shot(follower, 'following');

  // Cut: the server side closes the socket and refuses reconnects; the page is offline.
  cut = true;
  await follower.context().setOffline(true);
  for (const ws of sockets.splice(0)) await ws.close({ code: 1001, reason: 'cut by the test' });
  await follower.locator('[data-testid=status]:not([data-status=connected])').waitFor();
  await retitle(entryId, 'Nova II');
  await retitle(entryId, 'Nova III');
  await retitle(entryId, 'Nova IV');
  await follower.waitForTimeout(500);
  assert.equal(await follower.getByTestId('entry-update').count(), 0, 'nothing arrived while cut');
  await shot(follower, 'cut');

  cut = false;
  await follower.context().setOffline(false);
  await connected(follower);
  await follower.locator('[data-testid=entry-update][data-version="4"]').waitFor({ timeout: 15_000 });
  await follower.waitForTimeout(1_000); // anything repeated would show by now
  const shown = await follower.getByTestId('entry-update').allInnerTexts();
  assert.deepEqual(shown, ['v2: Nova II', 'v3: Nova III', 'v4: Nova IV']);
  await shot(follower, 'resumed');
});

story('4: events keep arriving across several token expiries and a reconnect, without a reload', async () => {
  const initsBefore = socketTokens.filter((init) => init.who === 'follower').length;
  const started = Date.now();
  const titles = [];
  // Two expiries (lifetime + leeway) with a merge and a notification in each.
  for (let round = 1; Date.now() - started < 2 * (TOKEN_TTL_SECS + LEEWAY_SECS) * 1000; round++) {
    const title = `Nova V${round}`;
    titles.push(title);
    await retitle(entryId, title);
    await follower.locator(`[data-testid=entry-update]:has-text("${title}")`).waitFor({ timeout: 5_000 });
    const submission = await submit('nova', `Summary ${round}`, { op: 'UPDATE', entryId, baseRevision: await entryVersion(entryId), fields: { summary: `Round ${round}` } });
    await approve(submission);
    await follower.locator(`[data-testid=toast]:has-text("Summary ${round}")`).waitFor({ timeout: 5_000 });
    await follower.waitForTimeout(2_000);
  }
  await shot(follower, 'after-expiries');

  // A reconnect after the first token expired must carry a fresh one.
  for (const ws of sockets.splice(0)) await ws.close({ code: 1001, reason: 'cut by the test' });
  for (let tries = 0; socketTokens.filter((i) => i.who === 'follower').length === initsBefore && tries < 150; tries++) await follower.waitForTimeout(100);
  const inits = socketTokens.filter((init) => init.who === 'follower');
  assert.ok(inits.length > initsBefore, 'the overlay reconnected');
  const [first, last] = [inits[0], inits.at(-1)];
  assert.ok(expiry(first.token) < last.at, 'the first token had expired by the reconnect');
  assert.ok(expiry(last.token) > last.at, 'the reconnect sent a token that had not expired');
  await connected(follower);

  await retitle(entryId, 'Nova VI');
  await follower.locator('[data-testid=entry-update]:has-text("Nova VI")').waitFor({ timeout: 5_000 });
  const submission = await submit('nova', 'Summary last', { op: 'UPDATE', entryId, baseRevision: await entryVersion(entryId), fields: { summary: 'Last' } });
  await approve(submission);
  await follower.locator('[data-testid=toast]:has-text("Summary last")').waitFor({ timeout: 5_000 });
  assert.ok(Number(await follower.getByTestId('status').getAttribute('data-refreshes')) >= 1, 'the overlay refreshed its token');
  assert.ok(await follower.evaluate(() => window.__sameDocument), 'no reload');
  const versions = (await follower.getByTestId('entry-update').evaluateAll((items) => items.map((item) => Number(item.dataset.version))));
  assert.deepEqual(versions, [...versions].sort((a, b) => a - b), 'versions in order');
  assert.equal(new Set(versions).size, versions.length, 'each version once');
  await shot(follower, 'after-reconnect');
});

story('the console holds no page error', () => {
  assert.deepEqual(consoleLines.filter((line) => /pageerror/.test(line)), []);
});
