// The overlay's connection to XP-R, as docs/guides/realtime.md describes it:
// one graphql-ws client; a fresh access token before every (re)connect; after
// every (re)connect the subscriptions start again from the newest
// notification cursor and entry version, and anything already shown is dropped.
// Operations go by their id in the build's manifest (trusted documents).
import { createClient } from 'graphql-ws';

/** The manifest id of each operation in operations.js, put in by the build. */
const ID = __DOCUMENT_IDS__;

export async function post(httpUrl, documentId, variables, token) {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ documentId, variables }),
  });
  const { data, errors } = await response.json();
  if (errors) throw Object.assign(new Error(errors[0].message), { code: errors[0].extensions?.code });
  return data;
}

export async function login(httpUrl, name, password) {
  return (await post(httpUrl, ID.LOGIN, { input: { login: name, password } })).login;
}

const expiresAt = (jwt) => {
  try {
    return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch {
    return Infinity; // an API token (xpr_…) carries no expiry we can read
  }
};

/**
 * The signed-in session. `accessToken()` refreshes (one refresh in flight at
 * a time: a refresh token works once) when the token expires within
 * `refreshBeforeMs` or the server said it had (close code 4403).
 */
export function session(httpUrl, tokens, { refreshBeforeMs = 30_000, onRefresh = () => {} } = {}) {
  let { accessToken, refreshToken } = tokens;
  let stale = false;
  let inFlight = null;
  const refresh = async () => {
    const data = await post(httpUrl, ID.REFRESH, { token: refreshToken });
    ({ accessToken, refreshToken } = data.refreshSession);
    stale = false;
    onRefresh({ accessToken, refreshToken });
  };
  return {
    markStale() {
      stale = true;
    },
    async accessToken() {
      const fresh = !stale && expiresAt(accessToken) - Date.now() > refreshBeforeMs;
      if (fresh || !refreshToken) return accessToken;
      inFlight ??= refresh().finally(() => (inFlight = null));
      await inFlight;
      return accessToken;
    },
  };
}

/**
 * Follows the viewer's notifications (with a session) and one entry (with an
 * id). Calls `onNotification` once per notification and `onEntry` once per
 * entry version, each in order; `onStatus` with 'connecting' | 'connected' |
 * 'offline' | 'signed-out'.
 */
export async function follow({ httpUrl, session, entryId, onNotification, onEntry, onStatus }) {
  let cursor = null;
  let version = null;
  const seen = new Set();
  if (session) {
    // Start from the newest notification there is, so a drop before the
    // first live one loses nothing either.
    const { notifications } = await post(httpUrl, ID.NEWEST, {}, await session.accessToken());
    const newest = notifications.edges[0]?.node;
    if (newest) {
      cursor = newest.cursor;
      seen.add(newest.id);
    }
  }
  if (entryId) {
    const { entry } = await post(httpUrl, ID.ENTRY, { id: entryId });
    if (!entry) throw new Error(`no entry ${entryId}`);
    version = entry.version;
    onEntry(entry, { initial: true });
  }
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    // Called before every (re)connect: the token sent is fresh.
    connectionParams: async () => (session ? { authToken: await session.accessToken() } : {}),
    lazy: false,
    retryAttempts: Infinity,
    retryWait: async (retries) => new Promise((ok) => setTimeout(ok, Math.min(500 * 2 ** retries, 10_000) * (0.5 + Math.random() / 2))),
    // Everything but 4401 (signed out, revoked, banned), which graphql-ws never retries.
    shouldRetry: () => true,
    on: {
      connecting: () => onStatus('connecting'),
      connected: () => onStatus('connected'),
      closed: (event) => {
        if (event?.code === 4403) session?.markStale(); // the access token expired: refresh, then reconnect
        onStatus(event?.code === 4401 ? 'signed-out' : 'offline');
      },
    },
  });
  const stops = [];
  // graphql-ws insists on a `query` string: empty, as the id names the document.
  const subscribe = () => {
    while (stops.length) stops.pop()();
    const sink = (handle) => ({
      next: ({ data, errors }) => (errors ? console.warn('xpr:', errors[0].message) : handle(data)),
      error: (error) => console.warn('xpr: subscription ended', error?.code ?? error),
      complete: () => {},
    });
    if (session) {
      stops.push(
        client.subscribe({ query: '', documentId: ID.NOTIFICATIONS, variables: { after: cursor } }, sink(({ notificationReceived: n }) => {
          if (seen.has(n.id)) return; // a retried subscription may repeat what it already sent
          seen.add(n.id);
          cursor = n.cursor;
          onNotification(n);
        })),
      );
    }
    if (entryId) {
      stops.push(
        client.subscribe({ query: '', documentId: ID.FOLLOW, variables: { id: entryId, version } }, sink(({ entryUpdated: e }) => {
          if (version !== null && e.version <= version) return;
          version = e.version;
          onEntry(e, { initial: false });
        })),
      );
    }
  };
  // graphql-ws resends a subscription with the variables it started with:
  // after every (re)connect (the first one included: the client isn't lazy),
  // start again from the newest cursor and version.
  client.on('connected', subscribe);
  return () => {
    while (stops.length) stops.pop()();
    client.dispose();
  };
}
