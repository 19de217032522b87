import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchemaRegistry } from './schema-registry';

const SECRET = 'r3gistry-Secret';

describe('createSchemaRegistry', () => {
  let server: Server;
  let seen: IncomingHttpHeaders[];
  let url: string;
  beforeAll(async () => {
    seen = [];
    server = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      res.end(JSON.stringify({ id: 1, schema: '"string"', subject: 's', version: 1 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('sends the bearer token of the moment with each request', async () => {
    let token = 'one';
    const registry = createSchemaRegistry({ url, token: () => token, retries: 0 });
    await registry.getLatestSchemaId('s');
    token = 'two';
    await registry.getLatestSchemaId('s2');
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer one', 'Bearer two']);
  });

  it('sends basic auth', async () => {
    seen = [];
    const registry = createSchemaRegistry({ url, auth: { username: 'u', password: SECRET }, retries: 0 });
    await registry.getLatestSchemaId('s');
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from(`u:${SECRET}`).toString('base64')}`);
  });
});
