import type { Request } from 'express';

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): unknown;
}

/**
 * The methods the app's routes answer on the request's path (Express 5 router), `HEAD` with
 * `GET`; empty when no route has this path. What a 405's `Allow` header lists.
 */
export function allowedMethods(request: Pick<Request, 'path' | 'method'> & { app?: unknown }): string[] {
  const stack = (request.app as { router?: { stack?: RouteLayer[] } } | undefined)?.router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    // A route for the request's own method that let the request through is middleware Nest
    // mounted on every method (`/{*path}`), not an answer for this path.
    if (!layer.route || layer.route.methods[request.method.toLowerCase()] || layer.route.methods['_all']) continue;
    let matches = false;
    try {
      matches = Boolean(layer.match(request.path));
    } catch {
      // a parameter that does not percent-decode: this route is no answer for the path either
    }
    if (!matches) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
