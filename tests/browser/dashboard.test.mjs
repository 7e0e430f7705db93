// The dashboard (examples/dashboard) in Chromium against a real server.
//
//   node --test tests/browser/dashboard.test.mjs
//
// Builds the dashboard with `npm run build:ci` (the production build with
// Apollo Client's development checks) unless its build is newer than its
// sources, serves it statically, starts the server with short-lived access
// tokens and plays the stories of issue 18 that the dashboard owns:
//   1. a user registers, verifies the address through the mailed link and
//      proposes an entry; a moderator in a second browser approves it from the
//      queue, which shows it live (no request but the subscription's);
//   2. two editors change one entry: disjoint changes merge, a conflicting
//      one shows base / ours / theirs and is resolved in the page;
//   4. the access token expires several times over (and the queue's socket is
//      cut and reconnects) while the pages keep working without a reload.
// Across all of them: no Apollo "Missing field" warning in any console, a
// `cache-first` query answered again from the cache sends no request, and
// every operation the pages send goes by its id in the build's persisted-query
// manifest (the server runs in `require` mode, as every browser test does).
// Each step saves a screenshot; on failure the server log and the consoles
// are kept beside them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  PASSWORD,
  buildExample,
  collectConsole,
  expiry,
  gql,
  launchBrowser,
  mailTo,
  outputDir,
  repo,
  serveStatic,
  shooter,
  startServer,
  stories,
} from './support.mjs';
import { CREATE_ENTRY_KIND, CREATE_SUBMISSION, ENTRY_BY_SLUG, LOGIN, REGISTER, SUBMIT, VERIFY_EMAIL } from './operations.mjs';

const dashboard = join(repo, 'examples/dashboard');
const dist = join(dashboard, 'dist/dashboard/browser');
/** Access tokens live this long here (the server adds 5 s of leeway). */
const TOKEN_TTL_SECS = 4;

const outDir = outputDir('dashboard');
const shot = shooter(outDir);

/** `npm ci` when node_modules is missing, `npm run build:ci` when the build is older than its sources. */
function buildDashboard() {
  const manifest = join(dist, 'persisted-query-manifest.json');
  buildExample(dashboard, {
    script: 'build:ci',
    output: manifest,
    sources: ['src', 'angular.json', 'package-lock.json', 'codegen.ts', '../../schema.graphql'],
    force: process.env.XPR_DASHBOARD_REBUILD,
  });
  return JSON.parse(readFileSync(manifest, 'utf8'));
}

// ---------------------------------------------------------------------------
// What every page is watched for.

const consoleLines = [];
/** Every POST to /graphql: `{ who, name, query, at }`. */
const requests = [];
const responses401 = [];
/** The access token of each `connection_init`: `{ who, token, at }`. */
const socketTokens = [];

let browser;
let server;
let app;
let manifest;
/** Sockets of each browser context, so a story can cut them from the test side. */
const socketsOf = new Map();

/** A browser context for one person, its console and its /graphql traffic recorded. */
async function person(who) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const sockets = [];
  socketsOf.set(who, sockets);
  // A transparent proxy of the page's WebSockets: the test can close them.
  await context.routeWebSocket(/\/graphql$/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  const page = await context.newPage();
  collectConsole(page, who, consoleLines);
  page.on('request', (request) => {
    if (request.method() !== 'POST' || !request.url().endsWith('/graphql')) return;
    const body = JSON.parse(request.postData());
    requests.push({ who, name: body.operationName, query: body.query, id: body.extensions?.persistedQuery?.sha256Hash, at: Date.now() });
  });
  page.on('websocket', (socket) =>
    socket.on('framesent', (frame) => {
      const message = JSON.parse(String(frame.payload));
      if (message.type === 'connection_init') socketTokens.push({ who, token: message.payload?.authToken, at: Date.now() });
      if (message.type === 'subscribe') {
        const { operationName: name, query, extensions } = message.payload;
        requests.push({ who, name, query, id: extensions?.persistedQuery?.sha256Hash, at: Date.now(), ws: true });
      }
    }),
  );
  page.on('response', (response) => {
    if (response.url().endsWith('/graphql') && response.status() === 401) responses401.push(`[${who}] ${response.request().postData()}`);
  });
  await page.goto(`${app.url}/?api=${encodeURIComponent(server.url)}`);
  await page.getByRole('heading', { name: 'Entries' }).waitFor();
  return page;
}

async function signIn(page, login) {
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('viewer').waitFor();
}

/** A user with a verified address, made through the API (the stories that aren't about signing up). */
async function verifiedUser(handle) {
  const email = `${handle}@example.com`;
  await gql(server, REGISTER, { input: { handle, email, password: PASSWORD } });
  const code = (await mailTo(server, email)).match(/paste this code: (\S+)/)[1];
  await gql(server, VERIFY_EMAIL, { token: code });
}

async function adminToken() {
  return (await gql(server, LOGIN, { input: { login: 'ada', password: PASSWORD } })).login
    .accessToken;
}

/** An entry made and merged through the API by the admin (trusted: merged on submit). */
async function mergedEntry(slug, title, body) {
  const token = await adminToken();
  const { createSubmission } = await gql(
    server,
    CREATE_SUBMISSION,
    { input: { title: `Add ${title}`, changes: [{ op: 'CREATE', kind: 'ship', fields: { slug, title, body, attributes: { crew: 3 } } }] } },
    token,
  );
  const { submitForReview } = await gql(server, SUBMIT, { id: createSubmission.id }, token);
  assert.equal(submitForReview.status, 'MERGED');
  return (await gql(server, ENTRY_BY_SLUG, { slug })).entry.id;
}

/** In the moderator's live queue: the item titled `title`, once it shows. */
async function queueItem(moderator, title) {
  const item = moderator.locator(`[data-testid=queue-item][data-title="${title}"]`);
  await item.waitFor({ timeout: 10_000 });
  return item;
}

async function approveInQueue(moderator, title) {
  const item = await queueItem(moderator, title);
  await item.getByRole('button', { name: 'Approve' }).click();
  await item.waitFor({ state: 'detached' });
  return moderator.getByTestId('flash').innerText();
}

/** Proposes a change from the entry's page through the edit form. */
/**
 * Opens an entry through the app's own links. A full page load would drop a
 * token refresh in flight: the server has rotated the refresh token, the new
 * page presents the old one, and the server revokes the session as a reuse.
 */
async function openEntry(page, entryId) {
  await page.getByRole('link', { name: 'Entries', exact: true }).click();
  await page.locator(`a[href$="/entries/${entryId}"]`).first().click();
}

async function proposeEdit(page, entryId, fields, submissionTitle) {
  await openEntry(page, entryId);
  await page.getByRole('link', { name: 'Propose a change' }).click();
  await page.getByTestId('base-version').waitFor();
  for (const [name, value] of Object.entries(fields)) await page.locator(`[name=${name}]`).fill(value);
  await page.locator('input[name=submissionTitle]').fill(submissionTitle);
  return page;
}

async function submitEdit(page) {
  await page.getByRole('button', { name: 'Submit for review' }).click();
  await page.waitForURL(/\/submissions\/[^/]+$/);
  await page.getByTestId('status').filter({ hasText: 'PENDING' }).waitFor();
}

before(async () => {
  manifest = buildDashboard();
  app = await serveStatic(dist);
  server = await startServer({
    XPR_CORS_ORIGINS: app.url,
    XPR_PUBLIC_URL: app.url,
    XPR_ACCESS_TOKEN_TTL_SECS: String(TOKEN_TTL_SECS),
    // Every browser and the test itself sign in from 127.0.0.1: sign-in limits are not what this tests.
    XPR_RATE_LIMIT_PER_ACCOUNT: '1000',
    XPR_RATE_LIMIT_PER_ADDRESS: '1000',
  }, { name: 'dashboard', manifests: [join(dist, 'persisted-query-manifest.json')] });
  server.createAdmin('ada', 'ada@example.com');
  await gql(
    server,
    CREATE_ENTRY_KIND,
    {
      input: {
        slug: 'ship',
        name: 'Ship',
        attributeSchema: { type: 'object', properties: { crew: { type: 'integer', minimum: 1 } }, required: ['crew'] },
      },
    },
    await adminToken(),
  );
  browser = await launchBrowser();
});

/** A failed story keeps the server log beside the consoles and screenshots. */
const story = stories(outDir, () => ({ browser, server, app }), consoleLines);

let moderator;

story('1: a user registers, verifies and proposes an entry; a moderator approves it from the live queue', async () => {
  const author = await person('author');
  await author.getByRole('link', { name: 'Register' }).click();
  await author.locator('input[name=handle]').fill('nova_author');
  await author.locator('input[name=email]').fill('nova_author@example.com');
  await author.locator('input[name=password]').fill(PASSWORD);
  await shot(author, 'register');
  await author.getByRole('button', { name: 'Create account' }).click();
  await author.waitForURL(/\/verify-email$/);
  await author.getByRole('link', { name: 'verify your email' }).waitFor();
  await shot(author, 'registered-unverified');

  // The mailed link opens the dashboard, which verifies the address.
  const link = (await mailTo(server, 'nova_author@example.com')).match(/(http\S+\/verify-email\?token=\S+)/)[1];
  assert.ok(link.startsWith(app.url), `the mail links to the dashboard: ${link}`);
  await author.goto(link);
  await author.getByTestId('verified').waitFor();
  await assert.rejects(author.getByRole('link', { name: 'verify your email' }).waitFor({ timeout: 500 }));
  await shot(author, 'verified');

  moderator = await person('moderator');
  await signIn(moderator, 'ada');
  await moderator.getByRole('link', { name: 'Moderation' }).click();
  await moderator.getByTestId('queue-size').waitFor();
  await shot(moderator, 'queue-empty');

  await author.getByRole('link', { name: 'New entry' }).click();
  await author.locator('select[name=kind]').selectOption('ship');
  await author.locator('input[name=slug]').fill('nova');
  await author.locator('input[name=title]').fill('Nova');
  await author.locator('input[name=summary]').fill('A small courier');
  await author.locator('textarea[name=body]').fill('Deck one.\nDeck two.\nDeck three.\nDeck four.\n');
  await author.locator('input[name=tags]').fill('starter, courier');
  await author.locator('textarea[name=attributes]').fill('{"crew": 2}');
  await shot(author, 'new-entry');
  const queueReads = requests.filter((r) => r.who === 'moderator' && r.name === 'ModerationQueue').length;
  await author.getByRole('button', { name: 'Submit for review' }).click();
  await author.getByTestId('status').filter({ hasText: 'PENDING' }).waitFor();
  await shot(author, 'submitted');

  // The queue shows it through moderationQueueChanged: no reload, no refetch.
  const item = await queueItem(moderator, 'Add Nova');
  assert.equal(requests.filter((r) => r.who === 'moderator' && r.name === 'ModerationQueue').length, queueReads, 'the queue did not query again');
  await shot(moderator, 'queue-live');
  await item.getByRole('button', { name: 'Claim' }).click();
  await item.getByTestId('claim').waitFor();
  await shot(moderator, 'claimed');
  assert.match(await approveInQueue(moderator, 'Add Nova'), /Merged: Nova revision 1/);
  await shot(moderator, 'approved');

  // The author's page follows submissionUpdated.
  await author.getByTestId('status').filter({ hasText: 'MERGED' }).waitFor();
  await shot(author, 'merged');

  // The dashboard read, then an entry page, then the list again from the cache.
  await author.getByRole('link', { name: 'Entries', exact: true }).click();
  const card = author.getByTestId('entry-card').filter({ hasText: 'Nova' });
  await card.waitFor();
  const text = await card.innerText();
  assert.match(text, /Ship/);
  assert.match(text, /created by nova_author/);
  assert.match(text, /revision 1 by nova_author/);
  await shot(author, 'entries');
  await card.getByRole('link', { name: 'Nova' }).click();
  await author.getByTestId('history').waitFor();
  await shot(author, 'entry');
  const before = requests.length;
  await author.getByRole('link', { name: 'Entries', exact: true }).click();
  await card.waitFor();
  await author.waitForTimeout(500);
  const sent = requests.slice(before).filter((r) => r.name !== 'RefreshSession');
  assert.deepEqual(sent.map((r) => r.name), [], 'the cache-first entries query is answered from the cache');
  await author.context().close();
});

story('2: two editors change one entry: a disjoint change merges, a conflicting one is resolved in the page', async () => {
  const entryId = await mergedEntry('lyra', 'Lyra', 'Deck one.\nDeck two.\nDeck three.\nDeck four.\n');
  await verifiedUser('alice');
  await verifiedUser('bob');
  const alice = await person('alice');
  await signIn(alice, 'alice');
  const bob = await person('bob');
  await signIn(bob, 'bob');

  // Both edit version 1: different lines of the body.
  await proposeEdit(alice, entryId, { body: 'Deck one, refitted.\nDeck two.\nDeck three.\nDeck four.\n' }, 'Refit deck one');
  await proposeEdit(bob, entryId, { body: 'Deck one.\nDeck two.\nDeck three.\nDeck four, with a hangar.\n' }, 'Add a hangar');
  await shot(alice, 'edit-disjoint-alice');
  await shot(bob, 'edit-disjoint-bob');
  await submitEdit(alice);
  await submitEdit(bob);
  assert.match(await approveInQueue(moderator, 'Refit deck one'), /Merged: Lyra revision 2/);
  assert.match(await approveInQueue(moderator, 'Add a hangar'), /Merged: Lyra revision 3/);
  await bob.getByTestId('status').filter({ hasText: 'MERGED' }).waitFor();
  await openEntry(bob, entryId);
  await bob.getByTestId('body').filter({ hasText: 'with a hangar' }).waitFor();
  assert.equal(await bob.getByTestId('body').innerText(), 'Deck one, refitted.\nDeck two.\nDeck three.\nDeck four, with a hangar.\n');
  await shot(bob, 'disjoint-merged');

  // Both rename version 3: alice's merges first, bob's conflicts.
  await proposeEdit(alice, entryId, { title: 'Lyra Prime' }, 'Rename to Prime');
  await proposeEdit(bob, entryId, { title: 'Lyra Nova' }, 'Rename to Nova');
  await submitEdit(alice);
  await submitEdit(bob);
  assert.match(await approveInQueue(moderator, 'Rename to Prime'), /Merged: Lyra Prime revision 4/);
  assert.match(await approveInQueue(moderator, 'Rename to Nova'), /Not merged: 1 conflict\(s\) \(title\)/);
  await shot(moderator, 'conflict-sent-back');

  await bob.getByTestId('status').filter({ hasText: 'CONFLICTED' }).waitFor();
  const conflict = bob.locator('[data-testid=conflict][data-field=title]');
  assert.equal(await conflict.getByTestId('base').innerText(), 'Lyra');
  assert.equal(await conflict.getByTestId('ours').innerText(), 'Lyra Nova');
  assert.equal(await conflict.getByTestId('theirs').innerText(), 'Lyra Prime');
  await shot(bob, 'conflict');
  await conflict.locator('textarea[name=custom]').fill('Lyra Prime Nova');
  await conflict.getByRole('button', { name: 'Use this value' }).click();
  await bob.getByTestId('status').filter({ hasText: 'PENDING' }).waitFor();
  await assert.rejects(conflict.waitFor({ timeout: 500 }));
  await shot(bob, 'conflict-resolved');

  assert.match(await approveInQueue(moderator, 'Rename to Nova'), /Merged: Lyra Prime Nova revision 5/);
  await bob.getByTestId('status').filter({ hasText: 'MERGED' }).waitFor();
  await bob.getByRole('link', { name: 'Lyra Prime Nova' }).click();
  await bob.getByRole('heading', { name: /Lyra Prime Nova/ }).waitFor();
  await bob.getByTestId('version').filter({ hasText: '5' }).waitFor();
  await shot(bob, 'history');
  await bob.getByTestId('history').getByRole('link', { name: '5', exact: true }).click();
  const change = bob.getByTestId('field-change');
  await change.waitFor();
  assert.match(await change.innerText(), /title[\s\S]*"Lyra Prime"[\s\S]*"Lyra Prime Nova"/);
  await bob.getByRole('link', { name: /Lyra Prime Nova/ }).click();
  await bob.getByTestId('history').getByRole('link', { name: '3', exact: true }).click();
  await bob.getByTestId('field-change').filter({ hasText: 'with a hangar' }).waitFor();
  await shot(bob, 'diff');
  await alice.context().close();
  await bob.context().close();
});

story('4: access tokens expire again and again and the pages keep working without a reload', async () => {
  await mergedEntry('vega', 'Vega', 'A survey ship.\n');
  const page = await person('late');
  // Registration by pasting the mailed code, this time.
  await page.getByRole('link', { name: 'Register' }).click();
  await page.locator('input[name=handle]').fill('late');
  await page.locator('input[name=email]').fill('late@example.com');
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/verify-email$/);
  const code = (await mailTo(server, 'late@example.com')).match(/paste this code: (\S+)/)[1];
  await page.locator('input[name=code]').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('verified').waitFor();
  await shot(page, 'verified-by-code');
  await page.evaluate(() => (window.__sameDocument = true));
  await moderator.evaluate(() => (window.__sameDocument = true));

  // Idle past expiry (lifetime + the server's 5 s leeway), twice over.
  await page.waitForTimeout((2 * TOKEN_TTL_SECS + 5) * 1000);
  const refreshes = Number(await page.getByTestId('refresh-count').innerText());
  assert.ok(refreshes >= 2, `the page refreshed its token before expiry (${refreshes} times)`);

  // The moderator's socket drops (cut here): the reconnect must bring a fresh token.
  const moderatorInits = () => socketTokens.filter((init) => init.who === 'moderator');
  const initsBefore = moderatorInits().length;
  socketsOf.get('moderator').at(-1).close({ code: 1012, reason: 'cut by the test' });
  for (let tries = 0; moderatorInits().length === initsBefore && tries < 100; tries++) await moderator.waitForTimeout(100);
  assert.ok(moderatorInits().length > initsBefore, 'the queue reconnected');
  const [first, reconnect] = [moderatorInits()[0], moderatorInits().at(-1)];
  assert.ok(expiry(first.token) < reconnect.at, 'the first connection_init’s token had expired by the reconnect');
  assert.ok(expiry(reconnect.token) > reconnect.at, 'the reconnect sent a token that had not expired');

  await page.getByRole('link', { name: 'Entries', exact: true }).click();
  await page.getByTestId('entry-card').filter({ hasText: 'Vega' }).getByRole('link', { name: 'Vega' }).click();
  await page.getByRole('link', { name: 'Propose a change' }).click();
  await page.locator('input[name=summary]').fill('Surveys the outer belt');
  await page.locator('input[name=submissionTitle]').fill('Vega summary');
  await submitEdit(page);
  assert.match(await approveInQueue(moderator, 'Vega summary'), /Merged: Vega revision 2/);
  await page.getByTestId('status').filter({ hasText: 'MERGED' }).waitFor();
  await page.getByRole('link', { name: 'Vega' }).click();
  await page.getByTestId('summary').filter({ hasText: 'Surveys the outer belt' }).waitFor();
  await shot(page, 'after-expiry');
  await shot(moderator, 'queue-after-expiry');

  assert.ok(await page.evaluate(() => window.__sameDocument), 'no reload');
  assert.ok(await moderator.evaluate(() => window.__sameDocument), 'no reload (moderator)');
  assert.deepEqual(responses401, [], 'no request went out with an expired token');
});

story('the consoles hold no Apollo "Missing field" warning and no page error', () => {
  const bad = consoleLines.filter((line) => /Missing field|pageerror/.test(line));
  assert.deepEqual(bad, []);
});

story('every operation the pages sent went by its id in the persisted-query manifest', () => {
  // The server runs in `require` mode, so the stories passing already says the ids were known; this names the culprit.
  const byId = new Map(manifest.operations.map((op) => [op.id, op.name]));
  const names = new Set(requests.map((r) => r.name));
  assert.ok(names.size >= 15, `the stories used most operations (${[...names].join(', ')})`);
  for (const { name, id, query, ws } of requests) {
    assert.equal(byId.get(id), name, `${name} is sent by its manifest id`);
    // graphql-ws insists on a query string; over HTTP the text stays home.
    if (!ws) assert.equal(query, undefined, `${name} is sent without its text`);
  }
});
