// `npm run bench:bundle -- --json`: what a browser downloads (gzipped) for the dashboard's first pages, read from
// the Vite build (service/web/dist and its manifest), beside the floor of any React page: react + react-dom's
// production builds (the smallest page that renders with React), gzipped the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { defaultWebRoot } from '../../service/src/platform/web.ts';

interface Chunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
  isEntry?: boolean;
}

const manifest = JSON.parse(readFileSync(join(defaultWebRoot, '.vite/manifest.json'), 'utf8')) as Record<string, Chunk>;
const gzipped = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

/** Every file a chunk loads before it runs: itself, its static imports (transitively), and their CSS. */
function filesOf(key: string, seen = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (!chunk || seen.has(chunk.file)) return seen;
  seen.add(chunk.file);
  for (const css of chunk.css ?? []) seen.add(css);
  for (const imported of chunk.imports ?? []) filesOf(imported, seen);
  return seen;
}

const entryKey = Object.keys(manifest).find((key) => manifest[key].isEntry)!;
const pageKey = (name: string) => Object.keys(manifest).find((key) => key.endsWith(`/${name}`))!;
const kilobytes = (bytes: number) => Math.round(bytes / 102.4) / 10;

function pageSize(pages: string[]) {
  const files = filesOf(entryKey);
  for (const page of pages) filesOf(pageKey(page), files);
  const bytes = [...files].reduce(
    (sum, file) => sum + gzipped(join(defaultWebRoot, file)),
    gzipped(join(defaultWebRoot, 'index.html')),
  );
  return { gzip_kb: kilobytes(bytes), files: files.size + 1 };
}

// The smallest React page: createRoot and one render, bundled and minified by esbuild for production.
const floor = buildSync({
  stdin: {
    contents: "import { createRoot } from 'react-dom/client'; createRoot(document.body).render('hello');",
    resolveDir: join(defaultWebRoot, '..'),
    loader: 'js',
  },
  bundle: true,
  minify: true,
  write: false,
  format: 'esm',
  define: { 'process.env.NODE_ENV': '"production"' },
});
const reactFloor = gzipSync(floor.outputFiles[0].contents, { level: 9 }).length;

const wasm = Object.values(manifest).find((chunk) => chunk.file.endsWith('.wasm'));
const result = {
  first_page_signup: pageSize(['auth.tsx']),
  first_page_dashboard_customers: pageSize(['layout.tsx', 'Customers.tsx']),
  price_editor_page: {
    ...pageSize(['layout.tsx', 'PriceBook.tsx']),
    plus_wasm_gzip_kb: wasm ? kilobytes(gzipped(join(defaultWebRoot, wasm.file))) : null,
  },
  floor_smallest_react_page_gzip_kb: kilobytes(reactFloor),
  goal_gzip_kb: 300,
};

if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
else for (const [name, value] of Object.entries(result)) console.log(name, JSON.stringify(value));
