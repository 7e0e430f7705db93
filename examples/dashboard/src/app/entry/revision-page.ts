import { DatePipe } from '@angular/common';
import { Component, computed, inject, input, numberAttribute } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { switchMap } from 'rxjs';
import { RevisionPageDocument } from '../../gql/graphql';
import { errorMessage } from '../shared/errors';
import { UserLink } from '../shared/user-link';
import { view } from '../shared/view';
import { FieldChangeView } from './field-change';

if (false) {
  gql`
    query RevisionPage($id: ID!, $number: Int!) {
      entry(id: $id) {
        id
        title
        revision(number: $number) {
          id
          number
          summary
          createdAt
          author {
            ...UserLink_user
          }
          merger {
            ...UserLink_user
          }
          diff {
            changes {
              ...FieldChangeView_change
            }
          }
        }
      }
    }
  `;
}

/** What one revision changed against its parent. Revisions never change, so the cache answers repeat visits. */
@Component({
  selector: 'xpr-revision-page',
  imports: [RouterLink, DatePipe, UserLink, FieldChangeView],
  template: `
    @if (result(); as r) {
      @if (r.error) {
        <p class="error" role="alert">{{ message(r.error) }}</p>
      }
      @if (r.data?.entry; as e) {
        <p><a [routerLink]="['/entries', e.id]">← {{ e.title }}</a></p>
        @if (e.revision; as rev) {
          <h1>Revision {{ rev.number }}: {{ rev.summary }}</h1>
          <p class="muted">by <xpr-user-link [user]="rev.author" />, merged by <xpr-user-link [user]="rev.merger" />, {{ rev.createdAt | date: 'medium' }}</p>
          @for (change of rev.diff.changes; track change.field) {
            <xpr-field-change [change]="change" />
          } @empty {
            <p class="muted">This revision changed nothing.</p>
          }
        } @else {
          <p>No revision {{ number() }}.</p>
        }
      } @else if (r.loading) {
        <p class="muted">Loading…</p>
      }
    }
  `,
})
export class RevisionPage {
  private readonly apollo = inject(Apollo);
  readonly id = input.required<string>();
  readonly number = input.required({ transform: numberAttribute });
  private readonly variables = computed(() => ({ id: this.id(), number: this.number() }));
  protected readonly message = errorMessage;
  protected readonly result = toSignal(
    toObservable(this.variables).pipe(switchMap((variables) => this.apollo.watchQuery({ query: RevisionPageDocument, variables }).valueChanges.pipe(view()))),
  );
}
