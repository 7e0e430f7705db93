import { Component, computed, inject, input, signal } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import { Router, RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { firstValueFrom, map, of, switchMap } from 'rxjs';
import {
  CreateSubmissionDocument,
  EditEntryDocument,
  EntryKindsDocument,
  SubmitForReviewDocument,
  type ChangeInput,
  type EntryFieldsInput,
} from '../../gql/graphql';
import { errorMessage } from '../shared/errors';

if (false) {
  gql`
    query EntryKinds {
      entryKinds {
        id
        slug
        name
      }
    }
  `;
  gql`
    query EditEntry($id: ID!) {
      entry(id: $id) {
        id
        version
        slug
        title
        summary
        body
        tags
        attributes
        kind {
          id
          slug
          name
        }
      }
    }
  `;
  gql`
    mutation CreateSubmission($input: CreateSubmissionInput!) {
      createSubmission(input: $input) {
        id
        status
      }
    }
  `;
  gql`
    mutation SubmitForReview($id: ID!) {
      submitForReview(submissionId: $id) {
        id
        status
        submittedAt
      }
    }
  `;
}

interface Draft {
  slug: string;
  title: string;
  summary: string;
  body: string;
  tags: string;
  attributes: string;
}

const tagList = (text: string) =>
  text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

/**
 * Proposing a new entry (`/entries/new`) or a change (`/entries/:id/edit`):
 * one submission with one change, submitted for review at once. An update
 * sends only the fields the editor changed, against the version loaded here
 * (the editing guide's `baseRevision`), so the server can merge it three-way.
 */
@Component({
  selector: 'xpr-edit-page',
  imports: [RouterLink],
  template: `
    @if (id()) {
      @if (entry(); as e) {
        <h1>Propose a change to {{ e.title }}</h1>
        <p class="muted">Editing version <span data-testid="base-version">{{ e.version }}</span>: your change is merged with whatever is merged meanwhile.</p>
        <form class="stack" (submit)="$event.preventDefault(); submit()">
          <label>What did you change? <input name="submissionTitle" #st [value]="'Edit ' + e.title" (input)="submissionTitle.set(st.value)" /></label>
          <label>Title <input name="title" #t [value]="e.title" (input)="set('title', t.value)" /></label>
          <label>Summary <input name="summary" #s [value]="e.summary" (input)="set('summary', s.value)" /></label>
          <label>Body (Markdown) <textarea name="body" #b rows="8" [value]="e.body" (input)="set('body', b.value)"></textarea></label>
          <label>Tags (comma-separated) <input name="tags" #g [value]="e.tags.join(', ')" (input)="set('tags', g.value)" /></label>
          <label>Attributes (JSON) <textarea name="attributes" #a [value]="json(e.attributes)" (input)="set('attributes', a.value)"></textarea></label>
          <div class="row"><button type="submit" [disabled]="busy()">Submit for review</button> <a [routerLink]="['/entries', e.id]">Cancel</a></div>
        </form>
      } @else {
        <p class="muted">Loading…</p>
      }
    } @else {
      <h1>Propose a new entry</h1>
      <form class="stack" (submit)="$event.preventDefault(); submit()">
        <label>Kind
          <select name="kind" #k (change)="kind.set(k.value)">
            <option value="">Choose…</option>
            @for (kind of kinds(); track kind.id) {
              <option [value]="kind.slug">{{ kind.name }}</option>
            }
          </select>
        </label>
        <label>Slug (lower-case letters, digits, dashes) <input name="slug" #sl (input)="set('slug', sl.value)" /></label>
        <label>Title <input name="title" #t (input)="set('title', t.value)" /></label>
        <label>Summary <input name="summary" #s (input)="set('summary', s.value)" /></label>
        <label>Body (Markdown) <textarea name="body" #b rows="8" (input)="set('body', b.value)"></textarea></label>
        <label>Tags (comma-separated) <input name="tags" #g (input)="set('tags', g.value)" /></label>
        <label>Attributes (JSON) <textarea name="attributes" #a (input)="set('attributes', a.value)">{{ '{}' }}</textarea></label>
        <label>Submission title (optional) <input name="submissionTitle" #st (input)="submissionTitle.set(st.value)" /></label>
        <div class="row"><button type="submit" [disabled]="busy()">Submit for review</button></div>
      </form>
    }
    @if (error()) {
      <p class="error" role="alert">{{ error() }}</p>
      @if (draftId(); as d) {
        <p>Your draft is kept: <a [routerLink]="['/submissions', d]">open it</a>.</p>
      }
    }
  `,
})
export class EditPage {
  private readonly apollo = inject(Apollo);
  private readonly router = inject(Router);
  /** The entry to change; absent for a new entry. */
  readonly id = input<string>();

  protected readonly kinds = toSignal(
    this.apollo.watchQuery({ query: EntryKindsDocument }).valueChanges.pipe(map((r) => r.data?.entryKinds ?? [])),
    { initialValue: [] },
  );
  // The base of the change: always what the server has now, never an older cached copy.
  protected readonly entry = toSignal(
    toObservable(this.id).pipe(
      switchMap((id) =>
        id ? this.apollo.query({ query: EditEntryDocument, variables: { id }, fetchPolicy: 'network-only' }).pipe(map((r) => r.data?.entry ?? null)) : of(null),
      ),
    ),
  );

  protected readonly kind = signal('');
  protected readonly submissionTitle = signal('');
  private readonly edits = signal<Partial<Draft>>({});
  protected readonly busy = signal(false);
  protected readonly error = signal('');
  protected readonly draftId = signal<string | null>(null);
  private readonly editing = computed(() => this.entry() ?? null);

  set(field: keyof Draft, value: string): void {
    this.edits.update((edits) => ({ ...edits, [field]: value }));
  }

  json(value: unknown): string {
    return JSON.stringify(value, null, 2);
  }

  async submit(): Promise<void> {
    this.error.set('');
    let change: ChangeInput;
    let title: string;
    try {
      ({ change, title } = this.change());
    } catch (err) {
      this.error.set(errorMessage(err));
      return;
    }
    this.busy.set(true);
    try {
      const created = await firstValueFrom(this.apollo.mutate({ mutation: CreateSubmissionDocument, variables: { input: { title, changes: [change] } } }));
      const id = created.data!.createSubmission.id;
      this.draftId.set(id);
      await firstValueFrom(this.apollo.mutate({ mutation: SubmitForReviewDocument, variables: { id } }));
      await this.router.navigate(['/submissions', id]);
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }

  /** The change to send: for an update, only the fields that differ from the loaded version. */
  private change(): { change: ChangeInput; title: string } {
    const edits = this.edits();
    const attributes = (text: string) => {
      try {
        return JSON.parse(text || '{}');
      } catch {
        throw new Error('Attributes must be JSON, e.g. {"crew": 3}');
      }
    };
    const entry = this.editing();
    if (!entry) {
      if (!this.kind()) throw new Error('Choose a kind.');
      const fields: EntryFieldsInput = {
        slug: edits.slug ?? '',
        title: edits.title ?? '',
        summary: edits.summary ?? '',
        body: edits.body ?? '',
        tags: tagList(edits.tags ?? ''),
        attributes: attributes(edits.attributes ?? '{}'),
      };
      return { change: { op: 'CREATE', kind: this.kind(), fields }, title: this.submissionTitle() || `Add ${fields.title}` };
    }
    const fields: EntryFieldsInput = {};
    for (const key of ['title', 'summary', 'body'] as const) {
      if (edits[key] !== undefined && edits[key] !== entry[key]) fields[key] = edits[key];
    }
    if (edits.tags !== undefined && tagList(edits.tags).join(',') !== entry.tags.join(',')) fields.tags = tagList(edits.tags);
    if (edits.attributes !== undefined) {
      const parsed = attributes(edits.attributes);
      if (JSON.stringify(parsed) !== JSON.stringify(entry.attributes)) fields.attributes = parsed;
    }
    if (Object.keys(fields).length === 0) throw new Error('Change something first.');
    return {
      change: { op: 'UPDATE', entryId: entry.id, baseRevision: entry.version, fields },
      title: this.submissionTitle() || `Edit ${entry.title}`,
    };
  }
}
