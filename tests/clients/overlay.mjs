// The realtime guide's overlay client (docs/guides/realtime.md shows this
// file; tests/api/clients.rs runs it): follows the viewer's notifications over
// `graphql-ws`, fetches a fresh access token before every (re)connect and
// resumes by cursor after any disconnect, so nothing is lost or shown twice.
import { createClient } from 'graphql-ws';

const REFRESH = `mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) { accessToken refreshToken }
}`;
const NOTIFICATIONS = `subscription Notifications($after: String) {
  notificationReceived(after: $after) { id cursor kind message createdAt }
}`;

/** The signed-in session: an access token refreshed shortly before it
 * expires (`refreshBeforeMs`), or when the server said it had (4403). */
export function session({ httpUrl, accessToken, refreshToken, refreshBeforeMs = 30_000 }) {
  let stale = false;
  const expiresAt = (jwt) => JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  return {
    markStale() { stale = true; },
    async accessToken() {
      if (!stale && expiresAt(accessToken) - Date.now() > refreshBeforeMs) return accessToken;
      const response = await fetch(httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: REFRESH, variables: { token: refreshToken } }),
      });
      const { data, errors } = await response.json();
      if (errors) throw new Error(`sign in again: ${errors[0].message}`);
      ({ accessToken, refreshToken } = data.refreshSession);
      stale = false;
      return accessToken;
    },
  };
}

/** Calls `onNotification` once for each of the viewer's notifications, in order. */
export function followNotifications({ url, session, onNotification, after = null, webSocketImpl }) {
  let cursor = after;
  const seen = new Set();
  const client = createClient({
    url,
    webSocketImpl,
    // Called before every (re)connect.
    connectionParams: async () => ({ authorization: `Bearer ${await session.accessToken()}` }),
    retryAttempts: Infinity,
    // Everything but 4401 (signed out, banned), which graphql-ws never retries.
    shouldRetry: () => true,
    on: {
      closed: (event) => {
        if (event?.code === 4403) session.markStale(); // the access token expired: refresh, then retry
      },
    },
  });
  let stop = () => {};
  const subscribe = () => {
    stop();
    stop = client.subscribe({ query: NOTIFICATIONS, variables: { after: cursor } }, {
      next: ({ data, errors }) => {
        if (errors) return console.error(errors);
        const notification = data.notificationReceived;
        if (seen.has(notification.id)) return; // a retried subscription may repeat what it already sent
        seen.add(notification.id);
        cursor = notification.cursor;
        onNotification(notification);
      },
      error: (err) => console.error('subscription failed', err),
      complete: () => {},
    });
  };
  // graphql-ws resends a subscription with the variables it started with:
  // after every (re)connect, start again from the newest cursor instead.
  client.on('connected', subscribe);
  subscribe();
  return client;
}
