import { Injectable, Injector, computed, inject, signal } from '@angular/core';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { firstValueFrom } from 'rxjs';
import {
  LoginDocument,
  LogoutDocument,
  RefreshSessionDocument,
  RegisterDocument,
  type AuthTokensFragment,
  type RegisterInput,
} from '../../gql/graphql';
import { errorCode } from '../shared/errors';

if (false) {
  gql`
    fragment AuthTokens on AuthPayload {
      accessToken
      refreshToken
    }
  `;
  gql`
    mutation Login($input: LoginInput!) {
      login(input: $input) {
        ...AuthTokens
      }
    }
  `;
  gql`
    mutation Register($input: RegisterInput!) {
      register(input: $input) {
        ...AuthTokens
      }
    }
  `;
  gql`
    mutation RefreshSession($refreshToken: String!) {
      refreshSession(refreshToken: $refreshToken) {
        ...AuthTokens
      }
    }
  `;
  gql`
    mutation Logout {
      logout
    }
  `;
}

/** The signed-in session as this browser keeps it. Times are this browser's clock, in ms. */
interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  refreshAt: number;
}

const STORAGE_KEY = 'xpr.session';

/** The token's lifetime as the server set it (`exp - iat`), so a skewed local clock doesn't matter. */
function sessionFrom(tokens: AuthTokensFragment): Session {
  const payload = JSON.parse(atob(tokens.accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  const lifetime = Math.max(1, payload.exp - payload.iat) * 1000;
  const now = Date.now();
  // Refresh a minute before expiry, or after two thirds of a short lifetime.
  const margin = Math.min(60_000, lifetime / 3);
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: now + lifetime, refreshAt: now + lifetime - margin };
}

function load(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

/**
 * Access + refresh tokens (authentication guide): every request asks
 * `accessToken()`, which refreshes shortly before expiry (or when the server
 * said the token expired); a timer also refreshes an idle page so its
 * WebSocket can reconnect at any time. One refresh is in flight at a time,
 * across tabs too (a refresh token works once; reusing one ends the session).
 */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly injector = inject(Injector);
  private readonly session = signal<Session | null>(load());
  private refreshing: Promise<Session | null> | null = null;
  private stale = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly identityListeners: (() => void)[] = [];

  readonly signedIn = computed(() => this.session() !== null);
  /** How many times this page refreshed its tokens (shown in the footer; the browser tests read it). */
  readonly refreshCount = signal(0);

  constructor() {
    this.schedule();
  }

  private get apollo(): Apollo {
    // Resolved late: the Apollo client itself asks this service for tokens.
    return this.injector.get(Apollo);
  }

  /** Called after every sign-in and sign-out (the WebSocket reconnects as the new user). */
  onIdentityChange(listener: () => void): void {
    this.identityListeners.push(listener);
  }

  /** A valid access token, refreshed first if it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    const current = this.session();
    if (!current) return null;
    if (!this.stale && Date.now() < current.refreshAt) return current.accessToken;
    const refreshed = await this.refresh();
    return refreshed?.accessToken ?? null;
  }

  /** The server said the token expired (HTTP 401 `TOKEN_EXPIRED`, WebSocket 4403): refresh before the next use. */
  markStale(): void {
    this.stale = true;
  }

  async signIn(login: string, password: string): Promise<void> {
    const result = await firstValueFrom(
      this.apollo.mutate({ mutation: LoginDocument, variables: { input: { login, password } }, context: { auth: false }, fetchPolicy: 'no-cache' }),
    );
    await this.startSession(result.data!.login);
  }

  async register(input: RegisterInput): Promise<void> {
    const result = await firstValueFrom(
      this.apollo.mutate({ mutation: RegisterDocument, variables: { input }, context: { auth: false }, fetchPolicy: 'no-cache' }),
    );
    await this.startSession(result.data!.register);
  }

  async signOut(): Promise<void> {
    try {
      await firstValueFrom(this.apollo.mutate({ mutation: LogoutDocument, fetchPolicy: 'no-cache' }));
    } finally {
      await this.endSession();
    }
  }

  /** The server refused the session (revoked, banned, signed out elsewhere): forget it here too. */
  async endSession(): Promise<void> {
    if (!this.session()) return;
    this.store(null);
    await this.identityChanged();
  }

  private async startSession(tokens: AuthTokensFragment): Promise<void> {
    this.store(sessionFrom(tokens));
    await this.identityChanged();
  }

  private async identityChanged(): Promise<void> {
    for (const listener of this.identityListeners) listener();
    // Drop what the previous identity could see and refetch what is on screen
    // (a page that the new identity may not see shows its own error).
    await this.apollo.client.resetStore().catch(() => undefined);
  }

  private store(session: Session | null): void {
    this.session.set(session);
    this.stale = false;
    if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else localStorage.removeItem(STORAGE_KEY);
    this.schedule();
  }

  private schedule(delay?: number): void {
    clearTimeout(this.timer);
    const session = this.session();
    if (!session) return;
    // Timers may fire a little early by Date.now(): refresh outright rather than ask accessToken().
    const refreshNow = () => void this.refresh().catch(() => this.schedule(5_000));
    this.timer = setTimeout(refreshNow, delay ?? Math.max(0, session.refreshAt - Date.now()));
  }

  private refresh(): Promise<Session | null> {
    this.refreshing ??= this.withTabLock(() => this.exchange()).finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async exchange(): Promise<Session | null> {
    const mine = this.session();
    if (!mine) return null;
    // Another tab may have refreshed meanwhile: its tokens are ours too.
    const stored = load();
    if (stored && stored.refreshToken !== mine.refreshToken) {
      this.store(stored);
      if (Date.now() < stored.refreshAt) return stored;
    }
    const refreshToken = this.session()!.refreshToken;
    try {
      const result = await firstValueFrom(
        this.apollo.mutate({ mutation: RefreshSessionDocument, variables: { refreshToken }, context: { auth: false }, fetchPolicy: 'no-cache' }),
      );
      const session = sessionFrom(result.data!.refreshSession);
      this.store(session);
      this.refreshCount.update((n) => n + 1);
      return session;
    } catch (error) {
      // A refused refresh token will never work again: sign in anew. Anything
      // else (network, 503) is retried by the next request or the timer.
      // (Not awaited: ending the session refetches what is on screen, which may be waiting on this refresh.)
      const code = errorCode(error);
      if (code === 'UNAUTHENTICATED' || code === 'BAD_USER_INPUT') void this.endSession();
      throw error;
    }
  }

  private withTabLock<T>(work: () => Promise<T>): Promise<T> {
    return navigator.locks ? (navigator.locks.request('xpr-refresh', work) as Promise<T>) : work();
  }
}
