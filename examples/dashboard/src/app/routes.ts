import type { Routes } from '@angular/router';

export const routes: Routes = [
  { path: '', loadComponent: () => import('./entries/entries-page').then((m) => m.EntriesPage), title: 'Entries · XP-R' },
  { path: 'entries/new', loadComponent: () => import('./editing/edit-page').then((m) => m.EditPage), title: 'New entry · XP-R' },
  { path: 'entries/:id', loadComponent: () => import('./entry/entry-page').then((m) => m.EntryPage), title: 'Entry · XP-R' },
  { path: 'entries/:id/edit', loadComponent: () => import('./editing/edit-page').then((m) => m.EditPage), title: 'Edit · XP-R' },
  { path: 'entries/:id/revisions/:number', loadComponent: () => import('./entry/revision-page').then((m) => m.RevisionPage), title: 'Revision · XP-R' },
  { path: 'submissions', loadComponent: () => import('./editing/my-submissions-page').then((m) => m.MySubmissionsPage), title: 'My submissions · XP-R' },
  { path: 'submissions/:id', loadComponent: () => import('./editing/submission-page').then((m) => m.SubmissionPage), title: 'Submission · XP-R' },
  { path: 'moderation', loadComponent: () => import('./moderation/queue-page').then((m) => m.QueuePage), title: 'Moderation · XP-R' },
  { path: 'sign-in', loadComponent: () => import('./auth/sign-in-page').then((m) => m.SignInPage), title: 'Sign in · XP-R' },
  { path: 'register', loadComponent: () => import('./auth/register-page').then((m) => m.RegisterPage), title: 'Register · XP-R' },
  { path: 'verify-email', loadComponent: () => import('./auth/verify-email-page').then((m) => m.VerifyEmailPage), title: 'Verify email · XP-R' },
  { path: '**', redirectTo: '' },
];
