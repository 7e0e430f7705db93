import { Component, inject, signal } from '@angular/core';
import { Router } from '@angular/router';
import { errorMessage } from '../shared/errors';
import { AuthService } from './auth.service';

@Component({
  selector: 'xpr-register-page',
  template: `
    <h1>Register</h1>
    <form class="stack" (submit)="$event.preventDefault(); submit(handle.value, email.value, password.value, displayName.value)">
      <label>Handle <input #handle name="handle" autocomplete="username" required /></label>
      <label>Display name (optional) <input #displayName name="displayName" /></label>
      <label>Email <input #email name="email" type="email" autocomplete="email" required /></label>
      <label>Password (at least 10 characters) <input #password name="password" type="password" autocomplete="new-password" required /></label>
      <div class="row"><button type="submit" [disabled]="busy()">Create account</button></div>
      @if (error()) {
        <p class="error" role="alert">{{ error() }}</p>
      }
    </form>
  `,
})
export class RegisterPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  protected readonly busy = signal(false);
  protected readonly error = signal('');

  async submit(handle: string, email: string, password: string, displayName: string): Promise<void> {
    this.busy.set(true);
    this.error.set('');
    try {
      await this.auth.register({ handle, email, password, displayName: displayName || null });
      await this.router.navigateByUrl('/verify-email');
    } catch (err) {
      this.error.set(errorMessage(err));
    } finally {
      this.busy.set(false);
    }
  }
}
