// Serves the dashboard and portal (service/web, built by Vite into service/web/dist) at /: the built files, and
// index.html for the single-page app's own routes. The API's paths never reach it, so their JSON 404 stands.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

export const defaultWebRoot = fileURLToPath(new URL('../../web/dist', import.meta.url));

// A missing asset is a 404 too, not the page.
const notPages = /^\/(v1|trpc|healthz|readyz|metrics|assets)(\/|$)/;

// The page runs only its own scripts; 'wasm-unsafe-eval' lets the price editor compile the rating kernel, and
// uPlot sizes its canvas with inline styles.
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** The app's files under `root`, or undefined when it has not been built (the API works without it). */
export function webRoutes(root: string = defaultWebRoot): RequestHandler | undefined {
  const indexFile = path.join(root, 'index.html');
  if (!fs.existsSync(indexFile)) return undefined;
  const routes = express.Router();
  // Vite names built assets by their content hash, so they never change under their name.
  routes.use('/assets', express.static(path.join(root, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  routes.use(express.static(root, { index: false, maxAge: 0 }));
  routes.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || notPages.test(req.path) || !req.accepts('html'))
      return next();
    res.set({
      'cache-control': 'no-cache',
      'content-security-policy': contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    });
    res.sendFile(indexFile);
  });
  return routes;
}
