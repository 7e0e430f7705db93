import { DatePipe } from '@angular/common';
import { Component, input } from '@angular/core';
import { gql } from '@apollo/client';
import type { ReviewList_EntryFragment } from '../../gql/graphql';
import { UserLink } from '../shared/user-link';

if (false) {
  gql`
    fragment ReviewList_entry on Entry {
      id
      ratingAverage
      ratingCount
      reviews(orderBy: NEWEST, first: 10) {
        nodes {
          id
          rating
          title
          body
          createdAt
          helpfulCount
          author {
            ...UserLink_user
          }
        }
      }
    }
  `;
}

@Component({
  selector: 'xpr-review-list',
  imports: [UserLink, DatePipe],
  template: `
    @let e = entry();
    @for (review of e.reviews.nodes; track review.id) {
      <div class="card">
        <strong>{{ review.rating }}★ {{ review.title }}</strong>
        <span class="muted"> — <xpr-user-link [user]="review.author" />, {{ review.createdAt | date: 'mediumDate' }}, {{ review.helpfulCount }} found it helpful</span>
        @if (review.body) {
          <p>{{ review.body }}</p>
        }
      </div>
    } @empty {
      <p class="muted">No reviews yet.</p>
    }
  `,
})
export class ReviewList {
  readonly entry = input.required<ReviewList_EntryFragment>();
}
