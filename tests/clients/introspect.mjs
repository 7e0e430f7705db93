// Introspects a running server the way GraphiQL, GraphQL Code Generator and
// Apollo tooling do (graphql-js's standard query, with every option and with
// none), builds the client schema from each answer and compares it with what
// the same query yields from the SDL file.
// Usage: node introspect.mjs URL SCHEMA_FILE [TOKEN]
import { readFileSync } from 'node:fs';
import {
  buildClientSchema, buildSchema, getIntrospectionQuery, introspectionFromSchema,
  lexicographicSortSchema, printSchema,
} from 'graphql';

const [url, schemaFile, token] = process.argv.slice(2);
const file = buildSchema(readFileSync(schemaFile, 'utf8'));
const print = (introspection) => printSchema(lexicographicSortSchema(buildClientSchema(introspection)));
const options = (on) => ({
  descriptions: on, specifiedByUrl: on, directiveIsRepeatable: on,
  schemaDescription: on, inputValueDeprecation: on, oneOf: on,
});
const variants = { all: options(true), none: options(false) };
for (const [name, options] of Object.entries(variants)) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, {
    method: 'POST', headers, body: JSON.stringify({ query: getIntrospectionQuery(options) }),
  });
  const body = await response.json();
  if (response.status !== 200 || body.errors) {
    console.error(`${name}: HTTP ${response.status} ${JSON.stringify(body.errors)}`);
    process.exit(1);
  }
  const [actual, want] = [print(body.data), print(introspectionFromSchema(file, options))];
  if (actual !== want) {
    const [a, w] = [actual.split('\n'), want.split('\n')];
    const i = a.findIndex((line, n) => line !== w[n]);
    console.error(`${name}: the server's schema differs from ${schemaFile} at line ${i + 1}:`);
    console.error(`  server: ${a[i]}\n  file:   ${w[i]}`);
    process.exit(1);
  }
  console.log(`${name}: ${actual.split("\n").length} lines match`);
}
