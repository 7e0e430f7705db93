// Drives GraphiQL at `/` in headless Chromium and takes screenshots.
//
//   cd scripts/graphiql && npm ci
//   node screenshot.mjs                          # starts target/debug/xpr itself
//   node screenshot.mjs --url http://127.0.0.1:8080   # or uses a running server
//
// Started by the script, the server gets a fresh data directory (SQLite) and
// no GraphiQL assets: the script checks that the page pins exact versions on
// the CDN with SRI hashes, installs those versions with npm as the README's
// "GraphiQL offline" step does, checks that the page switches to the local
// copies without a restart and that every hash matches the installed file.
// Then, in the browser, with every request outside the server counted as a
// failure (offline): the schema loads into the doc explorer, a `register`
// mutation runs, its access token goes into the header editor and
// `{ viewer { handle } }` answers with the new user, and a subscription to the
// user's own draft opens a `graphql-transport-ws` WebSocket that carries the
// header in `connection_init`, stays open without errors, and shows the
// update when the draft is withdrawn.
//
// Uses Debian's Chromium (`apt-get install chromium`; CHROMIUM overrides the
// path) and never downloads a browser. The server binary is XPR_BIN, else
// $CARGO_TARGET_DIR/debug/xpr, else target/debug/xpr; the server inherits the
// environment (DATABASE_URL, XPR_* settings). Screenshots go to
// ./screenshots (or --out DIR), which git ignores.

import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const { values: args } = parseArgs({
  options: { url: { type: 'string' }, out: { type: 'string', default: join(here, 'screenshots') } },
});
mkdirSync(args.out, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok: ${message}`);
}

/** The page's stylesheet and scripts: `{ url, integrity, crossorigin }` each. */
function assets(html) {
  const tags = html.match(/<(?:script|link rel="stylesheet")\s[^>]*(src|href)="[^"]+"[^>]*>/g) ?? [];
  return tags.map((tag) => ({
    url: tag.match(/(?:src|href)="([^"]+)"/)[1],
    integrity: tag.match(/integrity="([^"]+)"/)?.[1],
    crossorigin: tag.match(/crossorigin="([^"]+)"/)?.[1],
  }));
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

async function startServer() {
  const temp = mkdtempSync(join(tmpdir(), 'xpr-graphiql-'));
  const bin = process.env.XPR_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug/xpr');
  const port = await freePort();
  const child = spawn(bin, ['serve'], {
    env: { ...process.env, XPR_BIND: `127.0.0.1:${port}`, XPR_DATA_DIR: join(temp, 'data') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let failed = null;
  child.on('error', (error) => (failed = error));
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    if (failed) throw new Error(`cannot run ${bin} (set XPR_BIN): ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`${bin} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (tries > 300) throw new Error(`${url} never became ready`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const stop = () => {
    child.kill();
    rmSync(temp, { recursive: true, force: true });
  };
  return { url, graphiqlDir: join(temp, 'data', 'graphiql'), stop };
}

/** The README's offline step, checked: pinned CDN assets, npm install, local assets, same hashes. */
async function installAssets(url, graphiqlDir) {
  const online = assets(await (await fetch(url)).text());
  check(online.length === 4, 'the page loads one stylesheet and three scripts');
  const packages = new Set();
  for (const asset of online) {
    const [, name, version, path] = asset.url.match(/^https:\/\/cdn\.jsdelivr\.net\/npm\/(.+?)@([^/]+)\/(.+)$/) ?? [];
    check(/^\d+\.\d+\.\d+$/.test(version ?? ''), `${asset.url} names an exact version`);
    check(/^sha384-/.test(asset.integrity ?? '') && asset.crossorigin === 'anonymous', `${asset.url} has an SRI hash`);
    Object.assign(asset, { name, version, path });
    packages.add(`${name}@${version}`);
  }
  const command = ['install', '--prefix', graphiqlDir, ...packages];
  console.log(`npm ${command.join(' ')}`);
  execFileSync('npm', command, { stdio: 'inherit' });
  const local = assets(await (await fetch(url)).text());
  for (const [i, asset] of online.entries()) {
    const modules = join(graphiqlDir, 'node_modules', asset.name);
    const installed = JSON.parse(readFileSync(join(modules, 'package.json'), 'utf8')).version;
    check(installed === asset.version, `npm installed ${asset.name}@${asset.version}`);
    const hash = `sha384-${createHash('sha384').update(readFileSync(join(modules, asset.path))).digest('base64')}`;
    check(hash === asset.integrity, `the hash of ${asset.url} matches ${asset.name}/${asset.path} from npm`);
    check(
      local[i].url === `/graphiql/assets/${asset.name}/${asset.path}` && local[i].integrity === asset.integrity,
      `without a restart, the page loads ${local[i].url} with the same hash`,
    );
  }
}

/** The value of one of GraphiQL's CodeMirror editors, read or replaced. */
function editor(page, selector) {
  return {
    get: () => page.$eval(`${selector} .CodeMirror`, (e) => e.CodeMirror.getValue()),
    set: (value) => page.$eval(`${selector} .CodeMirror`, (e, v) => e.CodeMirror.setValue(v), value),
  };
}

async function drive(url) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { host } = new URL(url);
    const outside = [];
    page.on('request', (request) => {
      const target = new URL(request.url());
      if (/^(http|ws)s?:$/.test(target.protocol) && target.host !== host) outside.push(request.url());
    });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const sockets = [];
    page.on('websocket', (ws) => {
      const socket = { url: ws.url(), sent: [], received: [], closed: false };
      ws.on('framesent', (frame) => socket.sent.push(JSON.parse(frame.payload)));
      ws.on('framereceived', (frame) => socket.received.push(JSON.parse(frame.payload)));
      ws.on('close', () => (socket.closed = true));
      sockets.push(socket);
    });

    await page.goto(url);
    const query = editor(page, '.graphiql-query-editor');
    const response = editor(page, '.graphiql-response');
    await page.click('[aria-label="Show Documentation Explorer"]');
    const types = page.locator('.graphiql-doc-explorer').getByText('Submission', { exact: true });
    const loaded = await types.waitFor({ timeout: 20_000 }).then(() => true, () => false);
    await page.screenshot({ path: join(args.out, '1-schema.png') });
    // GraphiQL shows a failed introspection in the response pane.
    check(loaded, `the schema loads: the doc explorer lists the schema's types (${await response.get()})`);
    const run = async (text) => {
      await query.set(text);
      await response.set('');
      // GraphiQL parses the editor 100 ms after a change (debounced) and picks
      // HTTP or WebSocket from that parse: run before it, and a subscription
      // typed over a query goes over HTTP.
      await page.waitForTimeout(500);
      await page.click('.graphiql-execute-button');
    };
    const result = async () => {
      await page.waitForFunction(() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());
      return JSON.parse(await response.get());
    };

    const handle = `graphiql_${Date.now().toString(36)}`;
    await run(`mutation {
  register(input: { handle: "${handle}", email: "${handle}@example.com", password: "graphiql screenshot ${handle}" }) {
    accessToken
    user { handle }
  }
}`);
    const registered = await result();
    const token = registered.data?.register?.accessToken;
    check(token, `a mutation runs: register returns an access token (${JSON.stringify(registered.errors ?? 'no errors')})`);

    await page.click('.graphiql-editor-tools [data-name="headers"]');
    await editor(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)').set(
      JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2),
    );
    await run('{\n  viewer {\n    handle\n  }\n}');
    const viewer = await result();
    check(viewer.data?.viewer?.handle === handle, `the header editor's bearer token signs the query in as ${handle}`);
    await page.screenshot({ path: join(args.out, '2-viewer-with-authorization-header.png') });

    // A draft of the new user's, watched over the socket (only its author and
    // moderators may), then withdrawn over HTTP: GraphiQL shows the update.
    const gql = async (query) => {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
      const body = await (await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query }) })).json();
      if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
      return body.data;
    };
    const { createSubmission: draft } = await gql('mutation { createSubmission(input: { title: "Try GraphiQL" }) { id } }');
    await run(`subscription {\n  submissionUpdated(id: "${draft.id}") {\n    title\n    status\n  }\n}`);
    const acknowledged = () => sockets.some((s) => s.received.some((m) => m.type === 'connection_ack'));
    for (const deadline = Date.now() + 10_000; !acknowledged() && Date.now() < deadline; ) {
      await page.waitForTimeout(100);
    }
    await page.waitForTimeout(2000);
    const [socket] = sockets;
    check(socket?.url === `${url.replace(/^http/, 'ws')}/graphql`, `the subscription opens a WebSocket on ${socket?.url}`);
    const init = socket.sent.find((m) => m.type === 'connection_init');
    check(init?.payload?.Authorization === `Bearer ${token}`, 'connection_init carries the Authorization header');
    check(acknowledged(), 'the server acknowledges the connection');
    check(socket.sent.some((m) => m.type === 'subscribe'), 'GraphiQL subscribes over the socket');
    const failures = () => socket.received.filter((m) => m.type === 'error' || m.type === 'complete');
    check(failures().length === 0 && !socket.closed, `the subscription stays open (${JSON.stringify(failures())})`);
    check((await response.get()) === '', 'GraphiQL shows no error while waiting');
    await page.screenshot({ path: join(args.out, '3-subscription-open.png') });

    await gql(`mutation { withdrawSubmission(submissionId: "${draft.id}") { status } }`);
    const shown = await result();
    check(shown.data?.submissionUpdated?.status === 'WITHDRAWN', `the update arrives: ${JSON.stringify(shown)}`);
    await page.screenshot({ path: join(args.out, '4-subscription-update.png') });

    check(errors.length === 0, `no script errors (${errors.join('; ')})`);
    check(outside.length === 0, `nothing loaded from outside ${host} (${outside.join(' ')})`);
  } finally {
    await browser.close();
  }
}

const server = args.url ? null : await startServer();
try {
  const url = args.url ?? server.url;
  if (server) await installAssets(url, server.graphiqlDir);
  await drive(url.replace(/\/$/, ''));
  console.log(`screenshots in ${args.out}`);
} finally {
  server?.stop();
}
