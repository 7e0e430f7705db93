import { Component, inject, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { errorMessage } from '../shared/errors';
import { AuthService } from './auth.service';

@Component({
  selector: 'xpr-sign-in-page',
  imports: [RouterLink],
  template: `
    <h1>Sign in</h1>
    <form class="stack" (submit)="$event.preventDefault(); submit(login.value, password.value)">
      <label>Handle or email <input #login name="login" autocomplete="username" required /></label>
      <label>Password <input #password name="password" type="password" autocomplete="current-password" required /></label>
      <div class="row"><button type="submit" [disabled]="busy()">Sign in</button> <a routerLink="/register">No account yet?</a></div>
      @if (error()) {
        <p class="error" role="alert">{{ error() }}</p>
      }
    </form>
  `,
})
export class SignInPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  protected readonly busy = signal(false);
  protected readonly error = signal('');

  async submit(login: string, password: string): Promise<void> {
    this.busy.set(true);
    this.error.set('');
    try {
      await this.auth.signIn(login, password);
      await this.router.navigateByUrl('/');
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
