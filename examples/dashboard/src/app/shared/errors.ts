import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

/** The `extensions.code` of the first GraphQL error, if the error carries one. */
export function errorCode(error: unknown): string | undefined {
  if (CombinedGraphQLErrors.is(error)) return error.errors[0]?.extensions?.['code'] as string | undefined;
  return undefined;
}

/** The `extensions.reason` of an UNAUTHENTICATED error (TOKEN_EXPIRED, SESSION_REVOKED, …). */
export function authFailureReason(error: unknown): string | undefined {
  if (CombinedGraphQLErrors.is(error)) {
    const first = error.errors.find((e) => e.extensions?.['code'] === 'UNAUTHENTICATED');
    return first?.extensions?.['reason'] as string | undefined;
  }
  if (ServerError.is(error) && error.statusCode === 401) {
    try {
      return JSON.parse(error.bodyText).errors?.[0]?.extensions?.reason;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What to tell the user: the server's message, and its field errors when it names fields. */
export function errorMessage(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors
      .map((e) => {
        const fields = e.extensions?.['fields'] as { field: string; message: string }[] | undefined;
        return fields?.length ? fields.map((f) => `${f.field}: ${f.message}`).join('; ') : e.message;
      })
      .join('; ');
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
