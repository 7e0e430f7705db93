import { Component, computed, inject, input, signal } from '@angular/core';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { firstValueFrom } from 'rxjs';
import { ResolveConflictDocument, type ConflictChoice, type ConflictResolver_ConflictFragment } from '../../gql/graphql';
import { errorMessage } from '../shared/errors';

if (false) {
  gql`
    fragment ConflictResolver_conflict on Conflict {
      changeId
      field
      base
      ours
      theirs
    }
  `;
  gql`
    mutation ResolveConflict($input: ResolveConflictInput!) {
      resolveConflict(input: $input) {
        id
        fields
        baseRevision {
          id
          number
        }
        conflicts {
          ...ConflictResolver_conflict
        }
      }
    }
  `;
}

/** Text fields show as text, everything else as JSON. */
const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

/**
 * One conflicted field (editing guide, "Conflicts"): base, ours (this
 * submission) and theirs (merged meanwhile) side by side; keep ours, take
 * theirs, or write the value by hand.
 */
@Component({
  selector: 'xpr-conflict-resolver',
  template: `
    @let c = conflict();
    <div class="card" data-testid="conflict" [attr.data-field]="c.field">
      <strong>Conflict on {{ c.field }}</strong>
      <div class="three">
        <div><h4>Base (what you edited)</h4><pre data-testid="base">{{ text(c.base) }}</pre></div>
        <div><h4>Ours (your change)</h4><pre data-testid="ours">{{ text(c.ours) }}</pre></div>
        <div><h4>Theirs (merged meanwhile)</h4><pre data-testid="theirs">{{ text(c.theirs) }}</pre></div>
      </div>
      <div class="row">
        <button type="button" (click)="resolve('OURS')" [disabled]="busy()">Keep ours</button>
        <button type="button" (click)="resolve('THEIRS')" [disabled]="busy()">Take theirs</button>
      </div>
      <label>Or write it yourself
        <textarea name="custom" #custom [value]="text(c.ours)" (input)="draft.set(custom.value)"></textarea>
      </label>
      <div class="row"><button type="button" (click)="resolve('CUSTOM')" [disabled]="busy()">Use this value</button></div>
      @if (error()) {
        <p class="error" role="alert">{{ error() }}</p>
      }
    </div>
  `,
})
export class ConflictResolver {
  private readonly apollo = inject(Apollo);
  readonly conflict = input.required<ConflictResolver_ConflictFragment>();
  protected readonly draft = signal<string | null>(null);
  protected readonly busy = signal(false);
  protected readonly error = signal('');
  protected readonly text = show;
  private readonly isText = computed(() => typeof this.conflict().ours === 'string' || typeof this.conflict().base === 'string');

  async resolve(resolution: ConflictChoice): Promise<void> {
    const { changeId, field, ours } = this.conflict();
    this.busy.set(true);
    this.error.set('');
    try {
      let value: unknown = undefined;
      if (resolution === 'CUSTOM') {
        const text = this.draft() ?? show(ours);
        value = this.isText() ? text : JSON.parse(text);
      }
      await firstValueFrom(
        this.apollo.mutate({
          mutation: ResolveConflictDocument,
          variables: { input: { changeId, field, resolution, value } },
          // The submission may move from CONFLICTED back to PENDING.
          refetchQueries: ['SubmissionPage'],
          awaitRefetchQueries: true,
        }),
      );
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
