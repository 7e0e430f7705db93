// An XP-R bot: authenticates with an API token, introspects the schema with
// graphql-js, follows entries (XPR_ENTRIES) and its owner's notifications
// over graphql-ws, prints each event as one line and posts it to a
// Discord-style webhook (WEBHOOK_URL) when set.
//
//   XPR_TOKEN=xpr_… XPR_ENTRIES=id1,id2 npm start [-- --try-mutation]
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const server = (process.env.XPR_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const httpUrl = `${server}/graphql`;
const token = process.env.XPR_TOKEN;
const entries = (process.env.XPR_ENTRIES ?? '').split(',').map((id) => id.trim()).filter(Boolean);
const webhook = process.env.WEBHOOK_URL;

type GraphQLError = { message: string; extensions?: { code?: string } };
type Response<T> = { data?: T; errors?: GraphQLError[] };

async function post<T>(query: string, variables: Record<string, unknown> = {}): Promise<Response<T>> {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Response<T>;
}

/** One line on stdout, and the same text to the webhook when there is one. */
async function say(line: string) {
  console.log(line);
  if (!webhook) return;
  try {
    const response = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: line }) });
    if (!response.ok) console.error(`webhook answered ${response.status}`);
  } catch (error) {
    console.error(`webhook failed: ${(error as Error).message}`);
  }
}

async function introspect() {
  const { data, errors } = await post<IntrospectionQuery>(getIntrospectionQuery());
  if (!data) throw new Error(`introspection refused: ${JSON.stringify(errors)}`);
  const schema = buildClientSchema(data);
  const types = Object.keys(schema.getTypeMap()).filter((name) => !name.startsWith('__'));
  const subscriptions = Object.keys(schema.getSubscriptionType()?.getFields() ?? {});
  console.log(`introspection: ${types.length} types, subscriptions: ${subscriptions.join(', ')}`);
}

/** A small mutation a READ token may not run: prints the error code it gets. */
async function tryMutation() {
  const { data, errors } = await post<unknown>('mutation Watch($id: ID!) { watchEntry(entryId: $id) { id } }', { id: entries[0] ?? '00000000-0000-0000-0000-000000000000' });
  console.log(errors ? `mutation refused: ${errors[0].extensions?.code ?? 'NO_CODE'} (${errors[0].message})` : `mutation ran: ${JSON.stringify(data)}`);
}

const NOTIFICATIONS = `subscription Notifications($after: String) {
  notificationReceived(after: $after) { id cursor kind message actor { handle } }
}`;
const FOLLOW = `subscription FollowEntry($id: ID!, $version: Int) {
  entryUpdated(id: $id, afterVersion: $version) { id title version }
}`;

type Notification = { id: string; cursor: string; kind: string | null; message: string; actor: { handle: string } | null };
type Entry = { id: string; title: string; version: number };

/** Follows everything; after each (re)connect resumes from the newest cursor and versions (realtime guide). */
async function follow() {
  let cursor: string | null = null;
  const versions = new Map<string, number | null>();
  for (const id of entries) {
    const { data } = await post<{ entry: Entry | null }>('query($id: ID!) { entry(id: $id) { id title version } }', { id });
    if (!data?.entry) throw new Error(`no entry ${id}`);
    versions.set(id, data.entry.version);
    console.log(`following entry ${id} "${data.entry.title}" at version ${data.entry.version}`);
  }
  if (token) {
    const { data } = await post<{ notifications: { edges: { node: { cursor: string } }[] } }>('{ notifications(first: 1) { edges { node { cursor } } } }');
    cursor = data?.notifications.edges[0]?.node.cursor ?? null;
  }
  const seen = new Set<string>();
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authToken: token } : {},
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      connected: () => console.log('connected'),
      closed: (event) => console.log(`disconnected (${(event as { code?: number })?.code ?? '?'})`),
    },
  });
  const stops: (() => void)[] = [];
  const sink = <T>(handle: (data: T) => void) => ({
    next: ({ data, errors }: { data?: T | null; errors?: readonly { message: string }[] }) => (errors ? console.error(`error: ${errors[0].message}`) : data && handle(data)),
    error: (error: unknown) => console.error('subscription ended', error),
    complete: () => {},
  });
  client.on('connected', () => {
    while (stops.length) stops.pop()!();
    if (token) {
      stops.push(
        client.subscribe<{ notificationReceived: Notification }>({ query: NOTIFICATIONS, variables: { after: cursor } }, sink(({ notificationReceived: n }) => {
          if (seen.has(n.id)) return;
          seen.add(n.id);
          cursor = n.cursor;
          void say(`notification ${n.kind}: ${n.message}`);
        })),
      );
    }
    for (const id of entries) {
      stops.push(
        client.subscribe<{ entryUpdated: Entry }>({ query: FOLLOW, variables: { id, version: versions.get(id) } }, sink(({ entryUpdated: e }) => {
          if ((versions.get(id) ?? -1) >= e.version) return;
          versions.set(id, e.version);
          void say(`entry ${e.id} "${e.title}" is now version ${e.version}`);
        })),
      );
    }
  });
  const stop = () => {
    client.dispose();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

console.log(`XP-R bot for ${server}${token ? '' : ' (no XPR_TOKEN: anonymous)'}`);
await introspect();
if (process.argv.includes('--try-mutation')) await tryMutation();
if (!process.argv.includes('--once')) await follow();
