import { cacheControlFor, fallsBackToIndex } from './static-files';

describe('the page files', () => {
  it('caches hashed assets for a year and everything else only after revalidation', () => {
    expect(cacheControlFor('assets/index-3f2a1b.js')).toBe('public, max-age=31536000, immutable');
    expect(cacheControlFor('index.html')).toBe('no-cache');
    expect(cacheControlFor('favicon.svg')).toBe('no-cache');
  });

  it('answers index.html for app routes, never for a missing file or asset', () => {
    expect(fallsBackToIndex('tasks')).toBe(true);
    expect(fallsBackToIndex('operations/projections')).toBe(true);
    expect(fallsBackToIndex('assets/index-old.js')).toBe(false);
    expect(fallsBackToIndex('assets/chunk')).toBe(false);
    expect(fallsBackToIndex('robots.txt')).toBe(false);
  });
});
