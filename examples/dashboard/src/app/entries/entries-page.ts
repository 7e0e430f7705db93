import { Component, inject } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { EntriesPageDocument } from '../../gql/graphql';
import { errorMessage } from '../shared/errors';
import { view } from '../shared/view';
import { EntryCard } from './entry-card';

if (false) {
  gql`
    query EntriesPage($after: String) {
      entries(orderBy: UPDATED_AT, first: 20, after: $after) {
        edges {
          cursor
          node {
            id
            ...EntryCard_entry
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  `;
}

@Component({
  selector: 'xpr-entries-page',
  imports: [EntryCard, RouterLink],
  template: `
    <h1>Entries</h1>
    @if (result(); as r) {
      @if (r.error) {
        <p class="error" role="alert">{{ message(r.error) }}</p>
      }
      @if (r.data?.entries; as entries) {
        @for (edge of entries.edges; track edge.node.id) {
          <xpr-entry-card [entry]="edge.node" />
        } @empty {
          <p class="muted">No entries yet. <a routerLink="/entries/new">Propose the first one.</a></p>
        }
        @if (entries.pageInfo.hasNextPage) {
          <button type="button" (click)="more(entries.pageInfo.endCursor)">More</button>
        }
      } @else if (r.loading) {
        <p class="muted">Loading…</p>
      }
    }
  `,
})
export class EntriesPage {
  private readonly query = inject(Apollo).watchQuery({ query: EntriesPageDocument });
  protected readonly result = toSignal(this.query.valueChanges.pipe(view()));
  protected readonly message = errorMessage;

  more(after: string | null | undefined): void {
    void this.query.fetchMore({ variables: { after } });
  }
}
