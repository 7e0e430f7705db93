import { DatePipe } from '@angular/common';
import { Component, inject } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { MySubmissionsDocument } from '../../gql/graphql';
import { errorMessage } from '../shared/errors';
import { view } from '../shared/view';

if (false) {
  gql`
    query MySubmissions {
      submissions(filter: { mine: true }, first: 50) {
        nodes {
          id
          title
          status
          updatedAt
          decisionReason
        }
      }
    }
  `;
}

@Component({
  selector: 'xpr-my-submissions-page',
  imports: [RouterLink, DatePipe],
  template: `
    <h1>My submissions</h1>
    @if (result(); as r) {
      @if (r.error) {
        <p class="error" role="alert">{{ message(r.error) }}</p>
      }
      @if (r.data?.submissions; as list) {
        <table>
          <tr><th>Title</th><th>Status</th><th>Updated</th><th>Moderator</th></tr>
          @for (s of list.nodes; track s.id) {
            <tr>
              <td><a [routerLink]="['/submissions', s.id]">{{ s.title }}</a></td>
              <td><span class="badge">{{ s.status }}</span></td>
              <td>{{ s.updatedAt | date: 'short' }}</td>
              <td>{{ s.decisionReason }}</td>
            </tr>
          } @empty {
            <tr><td colspan="4" class="muted">None yet.</td></tr>
          }
        </table>
      }
    }
  `,
})
export class MySubmissionsPage {
  protected readonly message = errorMessage;
  protected readonly result = toSignal(inject(Apollo).watchQuery({ query: MySubmissionsDocument, fetchPolicy: 'cache-and-network' }).valueChanges.pipe(view()));
}
