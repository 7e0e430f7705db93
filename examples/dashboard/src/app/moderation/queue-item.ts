import { DatePipe, JsonPipe } from '@angular/common';
import { Component, input, output } from '@angular/core';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import type { QueueItem_SubmissionFragment } from '../../gql/graphql';
import { UserLink } from '../shared/user-link';

if (false) {
  gql`
    fragment QueueItem_submission on Submission {
      id
      title
      description
      status
      submittedAt
      author {
        ...UserLink_user
        reputation
      }
      claim {
        expiresAt
        moderator {
          ...UserLink_user
        }
      }
      checkWarnings {
        changeId
        field
        message
      }
      changes {
        id
        op
        fields
        entry {
          id
          title
        }
        preview {
          title
        }
      }
    }
  `;
}

@Component({
  selector: 'xpr-queue-item',
  imports: [RouterLink, DatePipe, JsonPipe, UserLink],
  template: `
    @let s = submission();
    <article class="card" data-testid="queue-item" [attr.data-title]="s.title">
      <div class="row">
        <strong>{{ s.title }}</strong>
        <span class="muted">by <xpr-user-link [user]="s.author" /> ({{ s.author?.reputation ?? 0 }} reputation), {{ s.submittedAt | date: 'short' }}</span>
        @if (s.claim; as c) {
          <span class="badge warn" data-testid="claim">claimed by <xpr-user-link [user]="c.moderator" /> until {{ c.expiresAt | date: 'shortTime' }}</span>
        }
      </div>
      @if (s.description) {
        <p>{{ s.description }}</p>
      }
      @for (w of s.checkWarnings; track $index) {
        <p class="badge warn">{{ w.field }}: {{ w.message }}</p>
      }
      @for (change of s.changes; track change.id) {
        <details>
          <summary>
            {{ change.op }}
            @if (change.entry; as e) {
              <a [routerLink]="['/entries', e.id]">{{ e.title }}</a>
            } @else {
              {{ change.preview?.title }}
            }
          </summary>
          <pre>{{ change.fields | json }}</pre>
        </details>
      }
      <div class="row">
        <button type="button" (click)="claim.emit()" [disabled]="busy()">Claim</button>
        <button type="button" (click)="approve.emit()" [disabled]="busy()">Approve</button>
        <input #reason name="reason" placeholder="Reason to reject (3+ characters)" />
        <button type="button" (click)="reject.emit(reason.value)" [disabled]="busy()">Reject</button>
      </div>
    </article>
  `,
})
export class QueueItem {
  readonly submission = input.required<QueueItem_SubmissionFragment>();
  readonly busy = input(false);
  readonly claim = output<void>();
  readonly approve = output<void>();
  readonly reject = output<string>();
}
