import { readRepoFile } from './lib/repo';
import { APPS, appConfig, loopbackSettings } from './lib/app-config';

// The compose and chart tests learn each app's variables by running its config.ts. Check that
// reading against the source: every UPPER_CASE key written in config.ts (or the shared
// commonServiceConfig it spreads) is found, so a new variable can't slip past the deployment tests.
describe("each app's configuration, read from its config.ts", () => {
  const common = [...readRepoFile('libs/shared/http/src/common-config.ts').matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);

  it.each(APPS)('%s: every variable its config.ts declares is found', async (app) => {
    const source = readRepoFile(`apps/${app}/src/config.ts`);
    const declared = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
    const config = await appConfig(app);
    expect(declared.length).toBeGreaterThan(0);
    expect(config.variables).toEqual(expect.arrayContaining([...declared, ...(source.includes('commonServiceConfig') ? common : [])]));
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
});
