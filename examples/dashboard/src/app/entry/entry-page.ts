import { JsonPipe } from '@angular/common';
import { Component, inject, input } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { switchMap } from 'rxjs';
import { EntryPageDocument } from '../../gql/graphql';
import { AuthService } from '../auth/auth.service';
import { errorMessage } from '../shared/errors';
import { UserLink } from '../shared/user-link';
import { view } from '../shared/view';
import { HistoryList } from './history-list';
import { ReviewList } from './review-list';

if (false) {
  gql`
    query EntryPage($id: ID!) {
      entry(id: $id) {
        id
        slug
        title
        summary
        body
        tags
        attributes
        deleted
        version
        kind {
          id
          slug
          name
        }
        parent {
          id
          title
        }
        creator {
          ...UserLink_user
        }
        ...HistoryList_entry
        ...ReviewList_entry
      }
    }
  `;
}

@Component({
  selector: 'xpr-entry-page',
  imports: [RouterLink, JsonPipe, UserLink, HistoryList, ReviewList],
  template: `
    @if (result(); as r) {
      @if (r.error) {
        <p class="error" role="alert">{{ message(r.error) }}</p>
      }
      @if (r.data?.entry; as e) {
        <h1>{{ e.title }} <span class="badge">{{ e.kind.name }}</span>
          @if (e.deleted) { <span class="badge bad">deleted</span> }
        </h1>
        <p class="muted">
          {{ e.kind.slug }}/{{ e.slug }} · version <span data-testid="version">{{ e.version }}</span> · created by <xpr-user-link [user]="e.creator" />
          @if (e.parent; as p) { · in <a [routerLink]="['/entries', p.id]">{{ p.title }}</a> }
        </p>
        @if (auth.signedIn()) {
          <p><a [routerLink]="['/entries', e.id, 'edit']">Propose a change</a></p>
        }
        @if (e.summary) { <p><em data-testid="summary">{{ e.summary }}</em></p> }
        <pre data-testid="body">{{ e.body }}</pre>
        <p>Tags: @for (tag of e.tags; track tag) { <span class="badge">{{ tag }}</span> } @empty { <span class="muted">none</span> }</p>
        <details><summary>Attributes</summary><pre>{{ e.attributes | json }}</pre></details>
        <h2>History</h2>
        <xpr-history-list [entry]="e" />
        <h2>Reviews</h2>
        <xpr-review-list [entry]="e" />
      } @else if (r.loading) {
        <p class="muted">Loading…</p>
      } @else if (!r.error) {
        <p>No such entry.</p>
      }
    }
  `,
})
export class EntryPage {
  private readonly apollo = inject(Apollo);
  protected readonly auth = inject(AuthService);
  readonly id = input.required<string>();
  protected readonly message = errorMessage;
  // Show what the cache has at once, and what the server has next (merges happen elsewhere).
  protected readonly result = toSignal(
    toObservable(this.id).pipe(
      switchMap((id) => this.apollo.watchQuery({ query: EntryPageDocument, variables: { id }, fetchPolicy: 'cache-and-network' }).valueChanges.pipe(view())),
    ),
  );
}
