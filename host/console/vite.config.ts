/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The server `weft serve` embeds dist/ in its binary, and CI rebuilds it and
// fails when it differs from the committed copy: so the build must be
// byte-for-byte deterministic (content hashes only, no source maps, no
// timestamps) and must not inline anything the CSP would refuse.
const target = process.env.WEFT_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Keep every asset a file: a data: URL for a script or style would be
    // refused by `script-src 'self'` / `style-src 'self'`.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/hooks': { target, changeOrigin: false },
      '/oauth': { target, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
