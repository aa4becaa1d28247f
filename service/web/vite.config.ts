// Builds the dashboard and portal into service/web/dist, which the service serves at / (platform/web.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // React's automatic JSX runtime, compiled by Vite's own transformer: no Babel plugin needed for a build.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The kernel's .wasm stays a file of its own, fetched only by the price editor.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
    // Chunk graph for the bundle bench (test/web/bundle-bench.ts); dot-folders are not served.
    manifest: true,
    chunkSizeWarningLimit: 500,
    rollupOptions: {
      // React Query marks its modules "use client" for server-component bundlers (a browser bundle has no use for
      // it), and rolldown's plugin timings say nothing about the app.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE' && warning.code !== 'PLUGIN_TIMINGS') warn(warning);
      },
    },
  },
  server: { proxy: { '/trpc': 'http://127.0.0.1:3000', '/v1': 'http://127.0.0.1:3000' } },
});
