import { DecimalPipe } from '@angular/common';
import { Component, input } from '@angular/core';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import type { EntryCard_EntryFragment } from '../../gql/graphql';
import { UserLink } from '../shared/user-link';

if (false) {
  gql`
    fragment EntryCard_entry on Entry {
      id
      title
      summary
      kind {
        id
        slug
        name
      }
      creator {
        ...UserLink_user
      }
      currentRevision {
        id
        number
        author {
          ...UserLink_user
        }
      }
      ratingAverage
      ratingCount
      reviews(orderBy: MOST_HELPFUL, first: 2) {
        nodes {
          id
          rating
          title
          author {
            ...UserLink_user
          }
        }
      }
    }
  `;
}

/** One entry in the list: the dashboard read (kind, creator, current revision and its author, top reviews). */
@Component({
  selector: 'xpr-entry-card',
  imports: [RouterLink, UserLink, DecimalPipe],
  template: `
    @let e = entry();
    <article class="card" data-testid="entry-card">
      <div class="row">
        <a [routerLink]="['/entries', e.id]"><strong>{{ e.title }}</strong></a>
        <span class="badge">{{ e.kind.name }}</span>
        @if (e.ratingAverage !== null) {
          <span class="muted">★ {{ e.ratingAverage | number: '1.1-1' }} ({{ e.ratingCount }})</span>
        }
      </div>
      @if (e.summary) {
        <p>{{ e.summary }}</p>
      }
      <p class="muted">
        created by <xpr-user-link [user]="e.creator" />
        @if (e.currentRevision; as r) {
          · revision {{ r.number }} by <xpr-user-link [user]="r.author" />
        }
      </p>
      @for (review of e.reviews.nodes; track review.id) {
        <p class="muted">“{{ review.title || 'No title' }}” {{ review.rating }}★ — <xpr-user-link [user]="review.author" /></p>
      }
    </article>
  `,
})
export class EntryCard {
  readonly entry = input.required<EntryCard_EntryFragment>();
}
