// Prints, as JSON, the operations the example clients send: graphql-js's
// standard introspection query, and each operation of the dashboard (the
// `gql` blocks of its sources) with the fragments it spreads, as its
// persisted-query manifest holds them.
// Usage: node operations.mjs DASHBOARD_SRC
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIntrospectionQuery, parse, print, separateOperations } from 'graphql';

const files = (dir) => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const blocks = files(process.argv[2])
  .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/gql`([^`]*)`/g)].map((m) => m[1]));
const operations = separateOperations(parse(blocks.join('\n')));
const dashboard = Object.fromEntries(Object.entries(operations).map(([name, doc]) => [name, print(doc)]));
console.log(JSON.stringify({ introspection: getIntrospectionQuery(), dashboard }));
