import { readRepoFile } from './lib/repo';
import { APPS, appConfig, identifierSettings, loopbackSettings } from './lib/app-config';

const keysIn = (source: string): string[] => [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);

// The shared HTTP settings: commonServiceConfig (every app), and apiServiceConfig (the API apps:
// those, the management port, CORS, and the caller authentication of authConfig).
const commonSource = readRepoFile('libs/shared/http/src/common-config.ts');
const apiStart = commonSource.indexOf('export const apiServiceConfig');
const common = keysIn(commonSource.slice(0, apiStart));
const auth = keysIn(readRepoFile('libs/shared/http/src/auth/auth-config.ts'));
const api = [...common, ...keysIn(commonSource.slice(apiStart)), ...auth];

// The compose and chart tests learn each app's variables by running its config.ts. Check that
// reading against the source: every UPPER_CASE key written in config.ts (or in the shared
// settings it spreads) is found, so a new variable can't slip past the deployment tests.
describe("each app's configuration, read from its config.ts", () => {
  it('reads the shared settings from their sources', () => {
    expect(apiStart).toBeGreaterThan(0);
    expect(commonSource.slice(apiStart)).toContain('...authConfig()');
    expect(common).toEqual(expect.arrayContaining(['PORT', 'LOG_LEVEL']));
    expect(api).toEqual(expect.arrayContaining(['MANAGEMENT_PORT', 'OIDC_ISSUER_URL', 'OIDC_AUDIENCE']));
    expect(common).not.toContain('MANAGEMENT_PORT');
  });

  it.each(APPS)('%s: every variable its config.ts declares is found', async (app) => {
    const source = readRepoFile(`apps/${app}/src/config.ts`);
    const shared = source.includes('apiServiceConfig(') ? api : source.includes('commonServiceConfig(') ? common : [];
    const config = await appConfig(app);
    expect(keysIn(source).length).toBeGreaterThan(0);
    expect(config.variables).toEqual(expect.arrayContaining([...keysIn(source), ...shared]));
  });

  it.each(APPS)('%s: validation is the real one (a bad PORT is rejected, naming it)', async (app) => {
    const config = await appConfig(app);
    const result = config.load({ PORT: 'not-a-port' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((i) => i.variable)).toContain('PORT');
  });

  it.each(APPS)('%s: its local defaults point at this machine (so deployments must override them)', async (app) => {
    const config = await appConfig(app);
    expect(loopbackSettings(config.defaults())).toContain('DATABASE_URL');
  });

  it.each(['command-service', 'query-service'] as const)(
    '%s: the local issuer is an address by default, an identifier only once OIDC_JWKS_URL is set',
    async (app) => {
      const config = await appConfig(app);
      expect(config.variables).toEqual(expect.arrayContaining(['OIDC_ISSUER_URL', 'OIDC_JWKS_URL', 'MANAGEMENT_PORT']));
      expect(loopbackSettings(config.defaults())).toContain('OIDC_ISSUER_URL');
      const withKeys = config.load({ OIDC_JWKS_URL: 'http://dev-issuer:8090/jwks' });
      expect(withKeys.ok && identifierSettings(withKeys.config)).toEqual(['OIDC_ISSUER_URL']);
      expect(withKeys.ok && loopbackSettings(withKeys.config)).not.toContain('OIDC_ISSUER_URL');
    },
  );

  it('the deployment guide names every authentication setting of the API apps', () => {
    const guide = readRepoFile('docs/deployment.md');
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.filter((name) => !guide.includes(`\`${name}\``))).toEqual([]);
  });
});
