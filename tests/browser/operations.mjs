// The operations the suite itself sends (setting up users, entries and
// merges beside the clients under test). The server runs in `require` mode,
// so they are a manifest of their own that `startServer` installs beside the
// clients' manifests, and `gql` sends their ids: a text not listed here is
// refused, as it would be from any first-party client.
export const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }';
export const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }';
export const VERIFY_EMAIL = 'mutation($token: String!) { verifyEmail(token: $token) { id } }';
export const CREATE_ENTRY_KIND = 'mutation($input: EntryKindInput!) { createEntryKind(input: $input) { id } }';
export const CREATE_SUBMISSION = 'mutation($input: CreateSubmissionInput!) { createSubmission(input: $input) { id } }';
export const SUBMIT = 'mutation($id: ID!) { submitForReview(submissionId: $id) { status } }';
export const APPROVE = 'mutation($id: ID!) { approveSubmission(submissionId: $id) { merged revisions { number } } }';
export const ENTRY_BY_SLUG = 'query($slug: String!) { entry(kind: "ship", slug: $slug) { id } }';
export const ENTRY_VERSION = 'query($id: ID!) { entry(id: $id) { version } }';
export const WATCH_ENTRY = 'mutation($id: ID!) { watchEntry(entryId: $id) { id } }';
export const CREATE_API_TOKEN = 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { scopes } } }';
// GraphQL over Server-Sent Events (sse.test.mjs), sent by id from the page's `graphql-sse` client.
export const VIEWER = 'query { viewer { id handle } }';
export const BAN = 'mutation($u: ID!) { banUser(userId: $u, reason: "spam") { status } }';
export const ENTRY_UPDATED = 'subscription($id: ID!, $v: Int) { entryUpdated(id: $id, afterVersion: $v) { version title } }';
export const NOTIFICATION_RECEIVED = 'subscription { notificationReceived { message } }';
