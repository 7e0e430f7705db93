import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// Relative asset paths: the build can be opened from any folder (a Tauri shell, a static server).
export default defineConfig({ base: './', plugins: [svelte()] });
