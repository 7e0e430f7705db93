import { Component, computed, inject } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { map } from 'rxjs';
import { ViewerDocument } from '../gql/graphql';
import { AuthService } from './auth/auth.service';
import { apiOrigin } from './config';

if (false) {
  gql`
    query Viewer {
      viewer {
        id
        handle
        displayName
        role
        emailVerified
      }
    }
  `;
}

@Component({
  selector: 'xpr-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  template: `
    <header>
      <strong>XP-R</strong>
      <a routerLink="/" routerLinkActive="active" [routerLinkActiveOptions]="{ exact: true }">Entries</a>
      @if (viewer(); as v) {
        <a routerLink="/entries/new" routerLinkActive="active">New entry</a>
        <a routerLink="/submissions" routerLinkActive="active" [routerLinkActiveOptions]="{ exact: true }">My submissions</a>
        @if (isModerator()) {
          <a routerLink="/moderation" routerLinkActive="active">Moderation</a>
        }
        <span class="spacer"></span>
        @if (!v.emailVerified) {
          <a routerLink="/verify-email" class="badge warn">verify your email</a>
        }
        <span data-testid="viewer">{{ v.displayName }} (&#64;{{ v.handle }}, {{ v.role.toLowerCase() }})</span>
        <button type="button" (click)="signOut()">Sign out</button>
      } @else {
        <span class="spacer"></span>
        <a routerLink="/sign-in" routerLinkActive="active">Sign in</a>
        <a routerLink="/register" routerLinkActive="active">Register</a>
      }
    </header>
    <main><router-outlet /></main>
    <footer>
      API: {{ api }} · token refreshes on this page: <span data-testid="refresh-count">{{ auth.refreshCount() }}</span>
    </footer>
  `,
})
export class App {
  protected readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  protected readonly api = apiOrigin;
  protected readonly viewer = toSignal(
    inject(Apollo)
      .watchQuery({ query: ViewerDocument })
      .valueChanges.pipe(map((result) => (result.dataState === 'complete' ? result.data.viewer : null))),
    { initialValue: null },
  );
  protected readonly isModerator = computed(() => ['MODERATOR', 'ADMIN'].includes(this.viewer()?.role ?? ''));

  async signOut(): Promise<void> {
    await this.auth.signOut();
    await this.router.navigateByUrl('/');
  }
}
