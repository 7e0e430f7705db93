import { createHash } from 'node:crypto';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';
import * as operations from './src/operations.js';

// Trusted documents: each operation's id is the SHA-256 of its text, as
// Apollo's manifest generator makes them. The page gets the ids only; the
// build writes the manifest the server loads (XPR_TRUSTED_DOCUMENTS_DIR).
const manifest = {
  format: 'apollo-persisted-query-manifest',
  version: 1,
  operations: Object.values(operations).map((body) => {
    const [, type, name] = body.match(/^(query|mutation|subscription) (\w+)/);
    return { id: createHash('sha256').update(body).digest('hex'), name, type, body };
  }),
};
const ids = Object.fromEntries(Object.keys(operations).map((key, i) => [key, manifest.operations[i].id]));

const writeManifest = {
  name: 'persisted-query-manifest',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'persisted-query-manifest.json', source: `${JSON.stringify(manifest, null, 2)}\n` });
  },
};

// Relative asset paths: the build can be opened from any folder (a Tauri shell, a static server).
export default defineConfig({ base: './', plugins: [svelte(), writeManifest], define: { __DOCUMENT_IDS__: JSON.stringify(ids) } });
