// Every operation the overlay sends. The build (vite.config.js) writes them
// to dist/persisted-query-manifest.json for the server's trusted documents
// and gives the page only their ids (`__DOCUMENT_IDS__`): the texts are not in
// the bundle and never travel.
const AUTH = 'accessToken refreshToken';
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH} } }`;
export const REFRESH = `mutation Refresh($token: String!) { refreshSession(refreshToken: $token) { ${AUTH} } }`;
export const ENTRY = `query Entry($id: ID!) { entry(id: $id) { id title version updatedAt } }`;
export const NEWEST = `query Newest { notifications(first: 1) { edges { node { id cursor } } } }`;
export const NOTIFICATIONS = `subscription Notifications($after: String) {
  notificationReceived(after: $after) { id cursor kind message createdAt actor { handle } }
}`;
export const FOLLOW = `subscription FollowEntry($id: ID!, $version: Int) {
  entryUpdated(id: $id, afterVersion: $version) { id title version updatedAt }
}`;
