import { inject, isDevMode } from '@angular/core';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination } from '@apollo/client/utilities';
import { type DocumentNode, getOperationAST, OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import { Subject } from 'rxjs';
import { AuthService } from './auth/auth.service';
import { graphqlHttpUrl, graphqlWsUrl } from './config';
import { authFailureReason } from './shared/errors';

/** Reasons after which a token will never work again (authentication guide). */
const SIGNED_OUT = new Set(['SESSION_REVOKED', 'TOKEN_INVALID', 'TOKEN_REVOKED', 'ACCOUNT_BANNED']);

/** Emits each time the WebSocket (re)connects: views that follow a stream refetch what they may have missed. */
export const socketConnected = new Subject<void>();

export const cache = () =>
  new InMemoryCache({
    typePolicies: {
      Query: { fields: { entries: relayStylePagination(['filter', 'orderBy']) } },
      Entry: { fields: { history: relayStylePagination(), ratingDistribution: { merge: false } } },
      Submission: { fields: { checkWarnings: { merge: false }, claim: { merge: false } } },
      // Conflicts have no id of their own: each answer replaces the list; a preview is one object, merged.
      Change: { fields: { conflicts: { merge: false }, preview: { merge: true } } },
    },
  });

/** Looks an operation's id up by its name in the build's persisted-query manifest, fetched once. */
function manifestId(): (document: DocumentNode) => Promise<string> {
  let ids: Promise<Map<string, string>> | undefined;
  return async (query) => {
    ids ??= fetch(new URL('persisted-query-manifest.json', document.baseURI))
      .then((response) => response.json())
      .then((manifest: { operations: { id: string; name: string }[] }) => new Map(manifest.operations.map((op) => [op.name, op.id])));
    const name = getOperationAST(query)?.name?.value ?? '';
    const id = (await ids).get(name);
    if (!id) throw new Error(`operation ${name} is not in the persisted-query manifest`);
    return id;
  };
}

/** Apollo Client: HTTP for queries and mutations, `graphql-ws` for subscriptions, both signed in. */
export function apolloOptions(): ApolloClient.Options {
  const auth = inject(AuthService);

  let socket: WebSocket | null = null;
  const wsClient = createClient({
    url: graphqlWsUrl,
    lazy: true,
    // Called before every (re)connect, so a reconnect never sends an expired token.
    connectionParams: async () => {
      const token = await auth.accessToken();
      return token ? { authToken: token } : {};
    },
    retryAttempts: Infinity,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2))),
    on: {
      connected: (s) => {
        socket = s as WebSocket;
        socketConnected.next();
      },
      closed: (event) => {
        socket = null;
        // 4403: the access token had expired; graphql-ws retries, and the retry refreshes first.
        if ((event as CloseEvent | undefined)?.code === 4403) auth.markStale();
      },
    },
  });
  // A new identity needs a new connection_init: close (graphql-ws reconnects and resubscribes).
  auth.onIdentityChange(() => socket?.close(4205, 'identity changed'));

  // Trusted documents: every operation goes by its id in the manifest the build
  // writes beside index.html (the server loads the same file), looked up by
  // operation name, as `@apollo/persisted-query-lists` does (its CommonJS
  // build would bundle a second Apollo Client: +200 kB). Over HTTP the text
  // stays home; graphql-ws sends it beside the id, and the server runs the
  // manifest's document. `ng serve` has no manifest: it sends text, which a
  // server in the default `allow` mode runs. Ids are never switched off for
  // text (`disable`), as a server in `require` mode would refuse it.
  const persisted = isDevMode() ? [] : [new PersistedQueryLink({ generateHash: manifestId(), disable: () => false })];
  const http = new HttpLink({ uri: graphqlHttpUrl });
  const transport = ApolloLink.split(({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION, new GraphQLWsLink(wsClient), http);

  const withToken = new SetContextLink(async (context) => {
    // `auth: false`: the mutations that trade credentials (login, refresh), or a retry after the session ended.
    const { authorization: _, ...headers } = context['headers'] ?? {};
    const token = context['auth'] === false ? null : await auth.accessToken();
    return { headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers };
  });

  // A token the server calls expired (clock skew, a sleeping laptop): refresh and try once more.
  const retryOnExpiry = new ErrorLink(({ error, operation, forward }) => {
    const reason = authFailureReason(error);
    if (!reason || operation.getContext()['retried']) return;
    operation.setContext({ retried: true });
    if (reason === 'TOKEN_EXPIRED') {
      auth.markStale();
      return forward(operation);
    }
    if (SIGNED_OUT.has(reason)) {
      void auth.endSession();
      operation.setContext({ auth: false });
      return forward(operation);
    }
    return;
  });

  return {
    link: ApolloLink.from([retryOnExpiry, withToken, ...persisted, transport]),
    cache: cache(),
  };
}
