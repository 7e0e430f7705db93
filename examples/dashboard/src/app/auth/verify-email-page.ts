import { Component, OnInit, inject, input, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { gql } from '@apollo/client';
import { Apollo } from 'apollo-angular';
import { firstValueFrom } from 'rxjs';
import { ResendVerificationDocument, VerifyEmailDocument } from '../../gql/graphql';
import { errorMessage } from '../shared/errors';
import { AuthService } from './auth.service';

if (false) {
  gql`
    mutation VerifyEmail($token: String!) {
      verifyEmail(token: $token) {
        id
        emailVerified
      }
    }
  `;
  gql`
    mutation ResendVerification {
      resendVerificationEmail
    }
  `;
}

/** `/verify-email?token=…` is the link in the mail; the code can also be pasted here. */
@Component({
  selector: 'xpr-verify-email-page',
  imports: [RouterLink],
  template: `
    <h1>Verify your email address</h1>
    @if (verified()) {
      <p class="notice" data-testid="verified">Your email address is verified. <a routerLink="/">Go to the entries</a>.</p>
    } @else {
      <p>We mailed you a link. Open it, or paste the code from the mail:</p>
      <form class="stack" (submit)="$event.preventDefault(); verify(code.value.trim())">
        <label>Code <input #code name="code" [value]="token() ?? ''" autocomplete="one-time-code" required /></label>
        <div class="row">
          <button type="submit" [disabled]="busy()">Verify</button>
          @if (auth.signedIn()) {
            <button type="button" (click)="resend()" [disabled]="busy()">Mail me a new code</button>
          }
        </div>
        @if (message()) {
          <p class="notice">{{ message() }}</p>
        }
        @if (error()) {
          <p class="error" role="alert">{{ error() }}</p>
        }
      </form>
    }
  `,
})
export class VerifyEmailPage implements OnInit {
  protected readonly auth = inject(AuthService);
  private readonly apollo = inject(Apollo);
  /** From the link's query string. */
  readonly token = input<string>();
  protected readonly busy = signal(false);
  protected readonly verified = signal(false);
  protected readonly message = signal('');
  protected readonly error = signal('');

  ngOnInit(): void {
    const token = this.token();
    if (token) void this.verify(token);
  }

  async verify(token: string): Promise<void> {
    await this.run(async () => {
      await firstValueFrom(this.apollo.mutate({ mutation: VerifyEmailDocument, variables: { token } }));
      this.verified.set(true);
    });
  }

  async resend(): Promise<void> {
    await this.run(async () => {
      await firstValueFrom(this.apollo.mutate({ mutation: ResendVerificationDocument }));
      this.message.set('A new code is on its way.');
    });
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.busy.set(true);
    this.error.set('');
    try {
      await work();
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
