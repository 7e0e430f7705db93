// The browser suite's harness, shared by tests/browser/*.test.mjs: the real
// server (SQLite, or PostgreSQL + Redis when XPR_TEST_DATABASE_URL and
// XPR_TEST_REDIS_URL are set), its mail folder, GraphQL over HTTP, a static
// file server for a build, Chromium, screenshots and console collection.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as operations from './operations.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
export const PASSWORD = 'correct horse battery staple';
export const binary = process.env.XPR_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug/xpr');

/** The output folder of one test file: `$XPR_BROWSER_OUT/<name>` (default tests/browser/output/<name>). */
export function outputDir(name) {
  const dir = join(process.env.XPR_BROWSER_OUT ?? join(here, 'output'), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function freePort() {
  const server = createNetServer().listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
/** The suite's own operations (operations.mjs) by text → their manifest id. */
const harnessIds = new Map(Object.values(operations).map((body) => [body, sha256(body)]));

/**
 * SQLite in a fresh data dir; or, with XPR_TEST_DATABASE_URL and
 * XPR_TEST_REDIS_URL (as the Rust tests take them), a fresh PostgreSQL
 * database (dropped at the end) and a Redis prefix of its own. Trusted
 * documents are required: the server loads `manifests` (the clients' builds')
 * and the suite's own, so only API tokens may send free text.
 */
export async function startServer(env, { name = 'browser', manifests = [] } = {}) {
  const dataDir = join(mkdtempSync(join(tmpdir(), `xpr-${name}-`)), 'data');
  const trusted = join(dataDir, 'trusted-documents');
  mkdirSync(trusted, { recursive: true });
  manifests.forEach((manifest, i) => copyFileSync(manifest, join(trusted, `client-${i}.json`)));
  const harness = [...harnessIds].map(([body, id]) => ({ id, name: body.match(/{ (\w+)/)[1], type: body.split(/[ ({]/)[0], body }));
  writeFileSync(join(trusted, 'harness.json'), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: harness }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const backend = {};
  let dropDatabase = () => {};
  const adminUrl = process.env.XPR_TEST_DATABASE_URL;
  if (adminUrl) {
    const database = `xpr_${name}_${process.pid}_${Date.now()}`;
    execFileSync('psql', [adminUrl, '-qc', `CREATE DATABASE ${database}`]);
    const databaseUrl = new URL(adminUrl);
    databaseUrl.pathname = `/${database}`;
    Object.assign(backend, {
      DATABASE_URL: databaseUrl.href,
      REDIS_URL: process.env.XPR_TEST_REDIS_URL ?? '',
      XPR_REDIS_PREFIX: database,
      XPR_ENV: 'development',
    });
    dropDatabase = () => execFileSync('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
  }
  const serverEnv = { ...process.env, XPR_BIND: `127.0.0.1:${port}`, XPR_DATA_DIR: dataDir, XPR_LOG_FORMAT: 'json', XPR_TRUSTED_DOCUMENTS: 'require', ...backend, ...env };
  const log = [];
  const child = spawn(binary, ['serve'], { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => log.push(chunk));
  child.stderr.on('data', (chunk) => log.push(chunk));
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`${binary} exited with ${child.exitCode}:\n${Buffer.concat(log)}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (tries > 300) throw new Error('the server did not become ready');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return {
    url,
    dataDir,
    log: () => Buffer.concat(log).toString(),
    /** `xpr create-admin` on the same database. */
    createAdmin(handle, email) {
      execFileSync(binary, ['create-admin', '--handle', handle, '--email', email], { env: serverEnv, input: `${PASSWORD}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((ok) => (child.exitCode !== null ? ok() : child.once('exit', ok)));
      dropDatabase();
    },
  };
}

/** The newest mail to `to`, decoded (quoted-printable soft breaks and `=3D`). */
export async function mailTo(server, to) {
  for (let tries = 0; tries < 100; tries++) {
    const dir = join(server.dataDir, 'mail');
    const mails = existsSync(dir)
      ? readdirSync(dir)
          .map((name) => join(dir, name))
          .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
          .map((file) => readFileSync(file, 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '='))
          .filter((mail) => mail.includes(`To: ${to}`))
      : [];
    if (mails.length) return mails.at(-1);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`no mail to ${to}`);
}

/** GraphQL over HTTP; throws on any error. */
export async function gql(server, query, variables = {}, token) {
  const body = await gqlRaw(server, query, variables, token);
  if (body.errors) throw new Error(`${query.slice(0, 60)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** GraphQL over HTTP: the whole response body, errors included. The suite's operations go by id. */
export async function gqlRaw(server, query, variables = {}, token) {
  const documentId = harnessIds.get(query);
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(documentId ? { documentId, variables } : { query, variables }),
  });
  return response.json();
}

/** Serves a build; unknown paths get index.html, as an app's routes need (`/verify-email?token=…`). */
export async function serveStatic(root) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };
  const server = createServer(async (request, response) => {
    let file = join(root, normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, ''));
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
    } catch {
      file = join(root, 'index.html');
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(await readFile(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** The newest modification time under `path`. */
export function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** `npm ci` when node_modules is missing, `npm run <script>` when `output` is older than `sources` (paths in `dir`). */
export function buildExample(dir, { script, output, sources, force = false }) {
  const npm = (...args) => execFileSync('npm', args, { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (!existsSync(join(dir, 'node_modules'))) npm('ci', '--no-audit', '--no-fund');
  const newest = Math.max(...sources.map((p) => newestMtime(join(dir, p))));
  if (!existsSync(output) || statSync(output).mtimeMs < newest || force || process.env.XPR_EXAMPLES_REBUILD) npm('run', script);
}

/** `shot(page, name)` saves `NN-name.png` in `dir`, numbered in order. */
export function shooter(dir) {
  let shots = 0;
  return async (page, name) => {
    shots += 1;
    await page.screenshot({ path: join(dir, `${String(shots).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
}

/** Collects a page's console messages and errors into `lines`, prefixed with `who`. */
export function collectConsole(page, who, lines) {
  page.on('console', (message) => lines.push(`[${who}] ${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => lines.push(`[${who}] pageerror: ${error.message}`));
}

/** Debian's Chromium (or $CHROMIUM), headless. */
export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
}

/** The `exp` of a JWT, in milliseconds. */
export const expiry = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).exp * 1000;

/**
 * `test` for the stories of one file, and the file's end: closes what
 * `opened()` returns (the browser, the server, the static app; any may be
 * missing) and writes the pages' console lines to `outDir`; when a story
 * failed, the server's log is kept beside them.
 */
export function stories(outDir, opened, consoleLines) {
  let failed = false;
  after(async () => {
    const { browser, server, app } = opened();
    await browser?.close();
    await server?.stop();
    app?.close();
    writeFileSync(join(outDir, 'console.log'), consoleLines.join('\n') + '\n');
    if (failed && server) writeFileSync(join(outDir, 'server.log'), server.log());
  });
  return (name, body) =>
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        failed = true;
        throw error;
      }
    });
}
