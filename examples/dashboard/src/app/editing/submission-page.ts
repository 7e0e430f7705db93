import { DatePipe, JsonPipe } from '@angular/common';
import { Component, DestroyRef, computed, inject, input, signal } from '@angular/core';
import { takeUntilDestroyed, toObservable, toSignal } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { firstValueFrom, switchMap } from 'rxjs';
import {
  RebaseSubmissionDocument,
  SubmissionPageDocument,
  SubmissionUpdatesDocument,
  SubmitForReviewDocument,
  WithdrawSubmissionDocument,
} from '../../gql/graphql';
import { errorMessage } from '../shared/errors';
import { UserLink } from '../shared/user-link';
import { view } from '../shared/view';
import { ConflictResolver } from './conflict-resolver';

if (false) {
  gql`
    fragment SubmissionView_submission on Submission {
      id
      title
      description
      status
      decisionReason
      submittedAt
      updatedAt
      author {
        ...UserLink_user
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
          version
        }
        baseRevision {
          id
          number
        }
        preview {
          slug
          title
          summary
          body
          tags
        }
        conflicts {
          ...ConflictResolver_conflict
        }
      }
    }
  `;
  gql`
    query SubmissionPage($id: ID!) {
      submission(id: $id) {
        ...SubmissionView_submission
      }
    }
  `;
  gql`
    subscription SubmissionUpdates($id: ID!) {
      submissionUpdated(id: $id) {
        ...SubmissionView_submission
      }
    }
  `;
  gql`
    mutation RebaseSubmission($id: ID!) {
      rebaseSubmission(submissionId: $id) {
        ...SubmissionView_submission
      }
    }
  `;
  gql`
    mutation WithdrawSubmission($id: ID!) {
      withdrawSubmission(submissionId: $id) {
        id
        status
      }
    }
  `;
}

const OPEN = ['DRAFT', 'PENDING', 'CHANGES_REQUESTED', 'CONFLICTED'];

/**
 * One submission: its state (live, through `submissionUpdated`), its
 * changes with their previews, and — when a merge found conflicts — the
 * base / ours / theirs of each conflicted field to resolve.
 */
@Component({
  selector: 'xpr-submission-page',
  imports: [RouterLink, DatePipe, JsonPipe, UserLink, ConflictResolver],
  template: `
    @if (result(); as r) {
      @if (r.error) {
        <p class="error" role="alert">{{ message(r.error) }}</p>
      }
      @if (r.data?.submission; as s) {
        <h1>{{ s.title }}</h1>
        <p>
          <span class="badge" [class.ok]="s.status === 'MERGED'" [class.bad]="s.status === 'REJECTED' || s.status === 'CONFLICTED'" data-testid="status">{{ s.status }}</span>
          <span class="muted"> by <xpr-user-link [user]="s.author" />@if (s.submittedAt) {, submitted {{ s.submittedAt | date: 'short' }}}</span>
        </p>
        @if (s.decisionReason) {
          <p class="notice">Moderator's note: {{ s.decisionReason }}</p>
        }
        @if (s.status === 'CONFLICTED') {
          <p class="notice">Something else was merged into these entries meanwhile. Choose a value for each conflicted field; the submission then goes back to the queue.</p>
        }
        @for (w of s.checkWarnings; track $index) {
          <p class="badge warn">{{ w.field }}: {{ w.message }}</p>
        }
        @for (change of s.changes; track change.id) {
          <section class="card" data-testid="change">
            <strong>{{ change.op }}</strong>&nbsp;
            @if (change.entry; as e) {
              <a [routerLink]="['/entries', e.id]">{{ e.title }}</a>
            } @else if (change.preview; as p) {
              {{ p.title }}
            }
            @if (change.baseRevision; as b) {
              <span class="muted"> against revision {{ b.number }}</span>
            }
            <details><summary>Fields</summary><pre>{{ change.fields | json }}</pre></details>
            @if (change.preview; as p) {
              <details><summary>Preview</summary><pre>{{ p | json }}</pre></details>
            }
            @for (conflict of change.conflicts; track conflict.field) {
              <xpr-conflict-resolver [conflict]="conflict" />
            }
          </section>
        }
        <div class="row">
          @if (canSubmit()) {
            <button type="button" (click)="act('submit')" [disabled]="busy()">Submit for review</button>
          }
          @if (isOpen()) {
            <button type="button" (click)="act('rebase')" [disabled]="busy()">Rebase on the current revisions</button>
            <button type="button" (click)="act('withdraw')" [disabled]="busy()">Withdraw</button>
          }
        </div>
        @if (error()) {
          <p class="error" role="alert">{{ error() }}</p>
        }
      } @else if (r.loading) {
        <p class="muted">Loading…</p>
      } @else if (!r.error) {
        <p>No such submission.</p>
      }
    }
  `,
})
export class SubmissionPage {
  private readonly apollo = inject(Apollo);
  readonly id = input.required<string>();
  protected readonly message = errorMessage;
  protected readonly busy = signal(false);
  protected readonly error = signal('');

  protected readonly result = toSignal(
    toObservable(this.id).pipe(
      switchMap((id) => this.apollo.watchQuery({ query: SubmissionPageDocument, variables: { id }, fetchPolicy: 'cache-and-network' }).valueChanges.pipe(view())),
    ),
  );
  private readonly submission = computed(() => this.result()?.data?.submission ?? null);
  protected readonly isOpen = computed(() => OPEN.includes(this.submission()?.status ?? ''));
  protected readonly canSubmit = computed(() => {
    const s = this.submission();
    return !!s && ['DRAFT', 'CHANGES_REQUESTED'].includes(s.status) && s.changes.every((c) => c.conflicts.length === 0);
  });

  constructor() {
    // Each state change arrives over the WebSocket and lands in the cache, so the page above re-renders.
    const destroyRef = inject(DestroyRef);
    toObservable(this.id)
      .pipe(
        switchMap((id) => this.apollo.subscribe({ query: SubmissionUpdatesDocument, variables: { id } })),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((event) => {
        if (event.data?.submissionUpdated.status === 'MERGED') {
          // Lists of entries may now hold a new entry or a new revision.
          this.apollo.client.cache.evict({ id: 'ROOT_QUERY', fieldName: 'entries' });
          this.apollo.client.cache.gc();
        }
      });
  }

  async act(action: 'submit' | 'rebase' | 'withdraw'): Promise<void> {
    const id = this.id();
    this.busy.set(true);
    this.error.set('');
    try {
      if (action === 'submit') await firstValueFrom(this.apollo.mutate({ mutation: SubmitForReviewDocument, variables: { id } }));
      if (action === 'rebase') await firstValueFrom(this.apollo.mutate({ mutation: RebaseSubmissionDocument, variables: { id } }));
      if (action === 'withdraw') await firstValueFrom(this.apollo.mutate({ mutation: WithdrawSubmissionDocument, variables: { id } }));
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
