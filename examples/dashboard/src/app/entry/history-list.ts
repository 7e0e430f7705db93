import { DatePipe } from '@angular/common';
import { Component, inject, input } from '@angular/core';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { HistoryMoreDocument, type HistoryList_EntryFragment } from '../../gql/graphql';
import { UserLink } from '../shared/user-link';

if (false) {
  gql`
    fragment HistoryList_revision on Revision {
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
    }
  `;
  gql`
    fragment HistoryList_entry on Entry {
      id
      history(first: 10) {
        edges {
          cursor
          node {
            ...HistoryList_revision
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  `;
  gql`
    query HistoryMore($id: ID!, $after: String) {
      entry(id: $id) {
        id
        history(first: 10, after: $after) {
          edges {
            cursor
            node {
              ...HistoryList_revision
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
    }
  `;
}

/** Revisions, newest first, each linking to its diff; "Older" appends the next page (Entry.history is a relay-style field). */
@Component({
  selector: 'xpr-history-list',
  imports: [RouterLink, UserLink, DatePipe],
  template: `
    @let e = entry();
    <table data-testid="history">
      <tr><th>#</th><th>Summary</th><th>Author</th><th>Merged by</th><th>When</th></tr>
      @for (edge of e.history.edges; track edge.node.id) {
        @let r = edge.node;
        <tr>
          <td><a [routerLink]="['/entries', e.id, 'revisions', r.number]">{{ r.number }}</a></td>
          <td>{{ r.summary }}</td>
          <td><xpr-user-link [user]="r.author" /></td>
          <td><xpr-user-link [user]="r.merger" /></td>
          <td>{{ r.createdAt | date: 'short' }}</td>
        </tr>
      }
    </table>
    @if (e.history.pageInfo.hasNextPage) {
      <button type="button" (click)="older()">Older revisions</button>
    }
  `,
})
export class HistoryList {
  private readonly apollo = inject(Apollo);
  readonly entry = input.required<HistoryList_EntryFragment>();

  older(): void {
    const e = this.entry();
    this.apollo.query({ query: HistoryMoreDocument, variables: { id: e.id, after: e.history.pageInfo.endCursor }, fetchPolicy: 'network-only' }).subscribe();
  }
}
