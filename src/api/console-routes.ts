import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IRouter, Request, Response } from 'express';

/**
 * The console's files: plain HTML, CSS and JavaScript in the package's `console/` folder (no build
 * step), next to `src/` and `dist/` alike. graphql-ws's own browser build carries the live tail. When
 * the kit was bundled into an app (so `__dirname` is the bundle's folder), the folder is found through
 * the installed package instead.
 */
function consoleDir(): string {
  const candidates = [join(__dirname, '..', '..', 'console')];
  try {
    candidates.push(join(dirname(require.resolve('eventfold/package.json')), 'console'));
  } catch {
    // Not resolvable from here: only the first candidate applies.
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`the console's files are missing (looked in ${candidates.join(', ')}): reinstall eventfold`);
  return found;
}

const TYPES: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/**
 * Serves the console at `/console` (the page) and `/console/*` (its files). The page holds no data: all
 * of it comes from the admin and audit GraphQL API at `graphqlPath`, which checks the caller's roles
 * (admin; the audit parts also `auditRoles`) on every request, or lets everyone in when auth is off.
 */
export function addConsoleRoutes(app: IRouter, graphqlPath: string): void {
  const CONSOLE_DIR = consoleDir();
  const page = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8').replace('__EVENTFOLD_GRAPHQL_PATH__', escapeAttribute(graphqlPath));
  const files = new Map(Object.keys(TYPES).map((name) => [name, readFileSync(join(CONSOLE_DIR, name))]));
  const graphqlWs = readFileSync(join(dirname(require.resolve('graphql-ws')), '..', 'umd', 'graphql-ws.min.js'));
  const send = (response: Response, type: string, body: string | Buffer): void => {
    response.set({ 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).send(body);
  };
  app.get('/console', (_request: Request, response: Response) => {
    response.set('content-security-policy', "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'");
    send(response, 'text/html; charset=utf-8', page);
  });
  app.get('/console/vendor/graphql-ws.min.js', (_request: Request, response: Response) => send(response, TYPES['console.js']!, graphqlWs));
  app.get('/console/:file', (request: Request, response: Response) => {
    const name = String(request.params.file);
    const body = files.get(name);
    if (!body) {
      response.status(404).type('text/plain').send('not found');
      return;
    }
    send(response, TYPES[name]!, body);
  });
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
