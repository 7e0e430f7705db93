import { Component, DestroyRef, inject, signal } from '@angular/core';
import { takeUntilDestroyed, toSignal } from '@angular/core/rxjs-interop';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { firstValueFrom } from 'rxjs';
import {
  ApproveSubmissionDocument,
  ClaimSubmissionDocument,
  ModerationQueueDocument,
  QueueChangesDocument,
  RejectSubmissionDocument,
  type ModerationQueueQuery,
  type QueueChangesSubscription,
} from '../../gql/graphql';
import { socketConnected } from '../apollo';
import { errorMessage } from '../shared/errors';
import { view } from '../shared/view';
import { QueueItem } from './queue-item';

if (false) {
  gql`
    query ModerationQueue {
      moderationQueue(first: 50) {
        edges {
          cursor
          node {
            id
            ...QueueItem_submission
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
    subscription QueueChanges {
      moderationQueueChanged {
        cursor
        kind
        submission {
          id
          ...QueueItem_submission
        }
      }
    }
  `;
  gql`
    mutation ClaimSubmission($id: ID!) {
      claimSubmission(submissionId: $id) {
        id
        claim {
          expiresAt
          moderator {
            ...UserLink_user
          }
        }
      }
    }
  `;
  gql`
    mutation ApproveSubmission($id: ID!, $comment: String) {
      approveSubmission(submissionId: $id, comment: $comment) {
        merged
        submission {
          id
          status
        }
        revisions {
          id
          number
          entry {
            id
            title
            version
          }
        }
        conflicts {
          changeId
          field
        }
      }
    }
  `;
  gql`
    mutation RejectSubmission($id: ID!, $reason: String!) {
      rejectSubmission(submissionId: $id, reason: $reason) {
        id
        status
        decisionReason
      }
    }
  `;
}

type Queue = ModerationQueueQuery['moderationQueue'];
type QueueEvent = QueueChangesSubscription['moderationQueueChanged'];

/** The queue after one event: SUBMITTED appends (oldest first), DECIDED removes; claims update in place through the cache. */
function applyEvent(queue: Queue, event: QueueEvent): Queue {
  const submission = event.submission;
  if (!submission) return queue;
  const present = queue.edges.some((edge) => edge.node.id === submission.id);
  if (event.kind === 'SUBMITTED' && !present && submission.status === 'PENDING') {
    return { ...queue, edges: [...queue.edges, { __typename: 'SubmissionEdge', cursor: event.cursor, node: submission }] };
  }
  if (event.kind === 'DECIDED' && present) {
    return { ...queue, edges: queue.edges.filter((edge) => edge.node.id !== submission.id) };
  }
  return queue;
}

/**
 * Moderators' queue of PENDING submissions, oldest first. It follows
 * `moderationQueueChanged` live, and refetches whenever the WebSocket
 * (re)connects, so nothing submitted meanwhile is missed.
 */
@Component({
  selector: 'xpr-queue-page',
  imports: [QueueItem],
  template: `
    <h1>Moderation queue</h1>
    @if (flash()) {
      <p class="notice" data-testid="flash">{{ flash() }}</p>
    }
    @if (error()) {
      <p class="error" role="alert">{{ error() }}</p>
    }
    @if (result(); as r) {
      @if (r.error) {
        <p class="error" role="alert">{{ message(r.error) }}</p>
      }
      @if (r.data?.moderationQueue; as queue) {
        <p class="muted"><span data-testid="queue-size">{{ queue.edges.length }}</span> waiting · live</p>
        @for (edge of queue.edges; track edge.node.id) {
          <xpr-queue-item
            [submission]="edge.node"
            [busy]="busy()"
            (claim)="claim(edge.node.id)"
            (approve)="approve(edge.node.id)"
            (reject)="reject(edge.node.id, $event)"
          />
        } @empty {
          <p class="muted">Nothing waiting.</p>
        }
      } @else if (r.loading) {
        <p class="muted">Loading…</p>
      }
    }
  `,
})
export class QueuePage {
  private readonly apollo = inject(Apollo);
  private readonly query = this.apollo.watchQuery({ query: ModerationQueueDocument, fetchPolicy: 'cache-and-network' });
  protected readonly result = toSignal(this.query.valueChanges.pipe(view()));
  protected readonly message = errorMessage;
  protected readonly busy = signal(false);
  protected readonly flash = signal('');
  protected readonly error = signal('');

  constructor() {
    const destroyRef = inject(DestroyRef);
    const stop = this.query.subscribeToMore({
      document: QueueChangesDocument,
      updateQuery: (_, { complete, previousData, subscriptionData }) =>
        complete ? { moderationQueue: applyEvent(previousData.moderationQueue, subscriptionData.data.moderationQueueChanged) } : undefined,
    });
    socketConnected.pipe(takeUntilDestroyed(destroyRef)).subscribe(() => void this.query.refetch());
    destroyRef.onDestroy(stop);
  }

  async claim(id: string): Promise<void> {
    await this.run(async () => {
      await firstValueFrom(this.apollo.mutate({ mutation: ClaimSubmissionDocument, variables: { id } }));
    });
  }

  async approve(id: string): Promise<void> {
    await this.run(async () => {
      const result = await firstValueFrom(
        this.apollo.mutate({
          mutation: ApproveSubmissionDocument,
          variables: { id, comment: 'Approved from the dashboard' },
          update: (cache, { data }) => {
            if (!data?.approveSubmission.merged) return;
            // New entries and revisions: lists and histories must be read again.
            cache.evict({ id: 'ROOT_QUERY', fieldName: 'entries' });
            for (const revision of data.approveSubmission.revisions) {
              if (revision.entry) cache.evict({ id: cache.identify(revision.entry), fieldName: 'history' });
            }
            cache.gc();
          },
        }),
      );
      const outcome = result.data!.approveSubmission;
      this.removeFromQueue(id);
      this.flash.set(
        outcome.merged
          ? `Merged: ${outcome.revisions.map((r) => `${r.entry?.title ?? 'entry'} revision ${r.number}`).join(', ')}`
          : `Not merged: ${outcome.conflicts.length} conflict(s) (${outcome.conflicts.map((c) => c.field).join(', ')}) sent back to the author`,
      );
    });
  }

  async reject(id: string, reason: string): Promise<void> {
    await this.run(async () => {
      await firstValueFrom(this.apollo.mutate({ mutation: RejectSubmissionDocument, variables: { id, reason } }));
      this.removeFromQueue(id);
      this.flash.set('Rejected.');
    });
  }

  private removeFromQueue(id: string): void {
    this.query.updateQuery((_, { complete, previousData }) =>
      complete ? { moderationQueue: { ...previousData.moderationQueue, edges: previousData.moderationQueue.edges.filter((edge) => edge.node.id !== id) } } : undefined,
    );
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.busy.set(true);
    this.error.set('');
    this.flash.set('');
    try {
      await work();
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
