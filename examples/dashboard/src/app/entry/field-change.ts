import { JsonPipe } from '@angular/common';
import { Component, input } from '@angular/core';
import { gql } from '@apollo/client';
import type { FieldChangeView_ChangeFragment } from '../../gql/graphql';

if (false) {
  gql`
    fragment FieldChangeView_change on FieldChange {
      field
      kind
      before
      after
      hunks {
        oldStart
        oldLines
        newStart
        newLines
        lines {
          kind
          text
        }
      }
    }
  `;
}

/** One field of a diff: unified hunks for text, before → after for the rest. */
@Component({
  selector: 'xpr-field-change',
  imports: [JsonPipe],
  template: `
    @let c = change();
    <div class="card diff" data-testid="field-change">
      <strong>{{ c.field }}</strong> <span class="badge">{{ c.kind.toLowerCase() }}</span>
      @if (c.hunks.length) {
        @for (hunk of c.hunks; track $index) {
          <div class="muted">&#64;&#64; -{{ hunk.oldStart }},{{ hunk.oldLines }} +{{ hunk.newStart }},{{ hunk.newLines }} &#64;&#64;</div>
          @for (line of hunk.lines; track $index) {
            <span class="line" [class]="line.kind">{{ line.text }}</span>
          }
        }
      } @else {
        <div class="row">
          <pre class="REMOVED">{{ c.before | json }}</pre>
          →
          <pre class="ADDED">{{ c.after | json }}</pre>
        </div>
      }
    </div>
  `,
})
export class FieldChangeView {
  readonly change = input.required<FieldChangeView_ChangeFragment>();
}
