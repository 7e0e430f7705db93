import { Component, input } from '@angular/core';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import type { UserLink_UserFragment } from '../../gql/graphql';

if (false) {
  gql`
    fragment UserLink_user on User {
      id
      handle
      displayName
    }
  `;
}

/** A user's name, linking nowhere yet: profiles are not part of the dashboard. */
@Component({
  selector: 'xpr-user-link',
  template: `@if (user(); as u) {<span class="user" [title]="'@' + u.handle">{{ u.displayName }}</span>} @else {<span class="muted">someone</span>}`,
})
export class UserLink {
  readonly user = input<UserLink_UserFragment | null>();
}
