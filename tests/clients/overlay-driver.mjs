// Runs overlay.mjs for tests/api/clients.rs: prints each notification and
// connection event as a JSON line; `cut` on stdin drops the socket as a
// network failure would. Usage: node overlay-driver.mjs HTTP_URL ACCESS REFRESH
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { followNotifications, session } from './overlay.mjs';

const [httpUrl, accessToken, refreshToken] = process.argv.slice(2);
const print = (line) => console.log(JSON.stringify(line));
const client = followNotifications({
  url: httpUrl.replace(/^http/, 'ws'),
  // Refresh only when the server refuses the token, so the test sees an expired one refused.
  session: session({ httpUrl, accessToken, refreshToken, refreshBeforeMs: -Infinity }),
  webSocketImpl: WebSocket,
  onNotification: (notification) => print({ notification }),
});
client.on('connected', () => print({ connected: true }));
client.on('closed', (event) => print({ closed: event.code }));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'cut') client.terminate();
});
