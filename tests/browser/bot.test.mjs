// The bot (examples/bot) as a child process against a real server.
//
//   node --test tests/browser/bot.test.mjs
//
// Story 5 of issue 18: with a READ-scoped API token the bot introspects the
// schema (graphql-js), follows an entry and its owner's notifications over
// graphql-ws, prints one line per event and posts each to a Discord-style
// webhook (a local HTTP server here); a mutation is refused with FORBIDDEN.
// The server requires trusted documents, as for the other clients: the bot
// sends free text, which an API token may (ADR 0023).
// The bot's output and the webhook's posts are kept in the output folder.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PASSWORD, gql, mailTo, outputDir, repo, startServer } from './support.mjs';
import { CREATE_API_TOKEN, CREATE_ENTRY_KIND, CREATE_SUBMISSION, ENTRY_BY_SLUG, LOGIN, REGISTER, SUBMIT, VERIFY_EMAIL, WATCH_ENTRY } from './operations.mjs';

const bot = join(repo, 'examples/bot');
const outDir = outputDir('bot');

let server;
let webhook;
const posts = [];
const runs = [];

async function login(handle) {
  return (await gql(server, LOGIN, { input: { login: handle, password: PASSWORD } })).login.accessToken;
}

async function adminMerge(change) {
  const token = await login('ada');
  const { createSubmission } = await gql(server, CREATE_SUBMISSION, { input: { title: 'Admin change', changes: [change] } }, token);
  const { submitForReview } = await gql(server, SUBMIT, { id: createSubmission.id }, token);
  assert.equal(submitForReview.status, 'MERGED');
}

/** Starts the bot; `lines` fills with its stdout, `waitFor(re)` waits for a line. */
function runBot(env, args = []) {
  const child = spawn(join(bot, 'node_modules/.bin/tsx'), ['src/bot.ts', ...args], {
    cwd: bot,
    env: { ...process.env, XPR_SERVER: server.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { child, lines: [], stderr: [] };
  runs.push(run);
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop();
    run.lines.push(...parts);
  });
  child.stderr.on('data', (chunk) => run.stderr.push(String(chunk)));
  run.waitFor = async (pattern, timeout = 20_000) => {
    for (const started = Date.now(); Date.now() - started < timeout; await new Promise((ok) => setTimeout(ok, 50))) {
      const line = run.lines.find((l) => pattern.test(l));
      if (line) return line;
      if (child.exitCode !== null && !buffered) break;
    }
    throw new Error(`the bot printed no line matching ${pattern}:\n${run.lines.join('\n')}\n${run.stderr.join('')}`);
  };
  run.exited = new Promise((ok) => (child.exitCode !== null ? ok(child.exitCode) : child.once('exit', ok)));
  return run;
}

before(async () => {
  if (!existsSync(join(bot, 'node_modules'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: bot, stdio: ['ignore', 'inherit', 'inherit'] });
  server = await startServer({ XPR_RATE_LIMIT_PER_ACCOUNT: '1000', XPR_RATE_LIMIT_PER_ADDRESS: '1000' }, { name: 'bot' });
  server.createAdmin('ada', 'ada@example.com');
  webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      posts.push({ type: request.headers['content-type'], body: JSON.parse(body) });
      response.writeHead(204).end();
    });
  });
  await new Promise((ok) => webhook.listen(0, '127.0.0.1', ok));
});

let failed = false;
after(async () => {
  for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGTERM');
  await Promise.all(runs.map((run) => run.exited));
  webhook?.close();
  await server?.stop();
  writeFileSync(join(outDir, 'bot.log'), runs.map((run) => [...run.lines, ...run.stderr].join('\n')).join('\n---\n') + '\n');
  writeFileSync(join(outDir, 'webhook.json'), JSON.stringify(posts, null, 2) + '\n');
  if (failed && server) writeFileSync(join(outDir, 'server.log'), server.log());
});

test('5: the bot introspects, follows with a READ token, prints and posts events, and is refused a mutation', async () => {
  try {
    const adminToken = await login('ada');
    await gql(server, CREATE_ENTRY_KIND, { input: { slug: 'ship', name: 'Ship', attributeSchema: { type: 'object' } } }, adminToken);
    await adminMerge({ op: 'CREATE', kind: 'ship', fields: { slug: 'vega', title: 'Vega', body: 'A survey ship.\n', attributes: {} } });
    const entryId = (await gql(server, ENTRY_BY_SLUG, { slug: 'vega' })).entry.id;

    // The bot's owner watches the entry (so a merge notifies them) and makes a READ token.
    await gql(server, REGISTER, { input: { handle: 'owner', email: 'owner@example.com', password: PASSWORD } });
    const code = (await mailTo(server, 'owner@example.com')).match(/paste this code: (\S+)/)[1];
    await gql(server, VERIFY_EMAIL, { token: code });
    const ownerToken = await login('owner');
    await gql(server, WATCH_ENTRY, { id: entryId }, ownerToken);
    const { createApiToken } = await gql(
      server,
      CREATE_API_TOKEN,
      { input: { name: 'test-bot', scopes: ['READ'] } },
      ownerToken,
    );
    assert.deepEqual(createApiToken.apiToken.scopes, ['READ']);

    const run = runBot({ XPR_TOKEN: createApiToken.token, XPR_ENTRIES: entryId, WEBHOOK_URL: `http://127.0.0.1:${webhook.address().port}/hook` });
    const introspection = await run.waitFor(/^introspection: \d+ types/);
    assert.ok(Number(introspection.match(/(\d+) types/)[1]) > 50, introspection);
    assert.match(introspection, /notificationReceived/);
    await run.waitFor(/^connected$/);
    await new Promise((ok) => setTimeout(ok, 500)); // the subscriptions follow the ack

    await adminMerge({ op: 'UPDATE', entryId, baseRevision: 1, fields: { title: 'Vega Prime' } });
    assert.match(await run.waitFor(/^entry /), new RegExp(`^entry ${entryId} "Vega Prime" is now version 2$`));
    assert.match(await run.waitFor(/^notification /), /^notification WATCHED_ENTRY_UPDATED: /);
    for (let tries = 0; posts.length < 2 && tries < 100; tries++) await new Promise((ok) => setTimeout(ok, 50));
    assert.deepEqual(posts.map((p) => p.type), ['application/json', 'application/json']);
    assert.deepEqual(posts.map((p) => p.body.content).sort(), run.lines.filter((l) => /^(entry|notification) /.test(l)).sort());

    const refused = runBot({ XPR_TOKEN: createApiToken.token, XPR_ENTRIES: entryId }, ['--try-mutation', '--once']);
    assert.match(await refused.waitFor(/^mutation /), /^mutation refused: FORBIDDEN/);
    assert.equal(await refused.exited, 0);
  } catch (error) {
    failed = true;
    throw error;
  }
});
