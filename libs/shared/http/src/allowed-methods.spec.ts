import express from 'express';
import { allowedMethods } from './allowed-methods';

// What a 405's Allow header lists, read from a real Express 5 router.
describe('allowedMethods', () => {
  const app = express();
  // what Nest mounts for middleware on every route: a route for every method that calls next()
  app.all('/{*path}', (_req, _res, next) => next());
  app.get('/tasks/:id', (_req, res) => res.end());
  app.delete('/tasks/:id', (_req, res) => res.end());
  app.post('/tasks', (_req, res) => res.end());
  app.use((_req, res) => res.end());

  it.each([
    ['TRACE', '/tasks/5', ['DELETE', 'GET', 'HEAD']],
    ['PUT', '/tasks', ['POST']],
    ['GET', '/tasks/', ['POST']],
    ['TRACE', '/nowhere', []],
    ['TRACE', '/tasks/5/more', []],
  ])('%s %s: %j', (method, path, allowed) => {
    expect(allowedMethods({ app, method, path } as never)).toEqual(allowed);
  });

  it('is empty without an Express app (nothing to look up)', () => {
    expect(allowedMethods({ method: 'TRACE', path: '/tasks' })).toEqual([]);
  });
});
