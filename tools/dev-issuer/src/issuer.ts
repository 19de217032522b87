import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MIMEType } from 'node:util';
import { SignJWT } from 'jose';
import {
  CLIENT_AUDIENCE,
  CLIENT_TOKEN_TTL_S,
  secretMatches,
  secretsDirClients,
  staticClients,
  type ClientSource,
  type ConfidentialClient,
} from './clients.ts';
import { ALGORITHM, loadOrCreateSigningKey } from './signing-key.ts';
import { parseTokenRequest, type TokenRequest } from './token-request.ts';

export interface IssuerOptions {
  /** Folder whose `dev-issuer/signing-key.json` keeps the key across restarts; unset: a new key in memory. */
  stateDir?: string;
  /**
   * The issuer identifier: the tokens' `iss` and the discovery document's `issuer`, the URL
   * apps reach it at. @default `http://<host>:<port>` (127.0.0.1 when listening on every interface)
   */
  issuerUrl?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (a free port the OS picks) */
  port?: number;
  /**
   * Says `cqrs_development_issuer: true` in the discovery document and the key set: apps running
   * with NODE_ENV=production refuse such an issuer. False only to test that production path.
   */
  development: boolean;
  /** Where failures that are the issuer's own (never a caller's bad input) are reported. @default none */
  log?: (line: string) => void;
  /** Confidential clients of the `client_credentials` grant, given in code. @default none */
  clients?: ConfidentialClient[];
  /**
   * A folder whose `registry-<client id>.password` files register confidential clients (the local
   * stack's `$STATE/secrets`), read at each token request. @default none
   */
  secretsDir?: string;
}

/** The body of a successful `POST /token` (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface Issuer {
  /** The issuer identifier (`iss`); discovery is at `${url}/.well-known/openid-configuration`. */
  url: string;
  /** The port it listens on (the one the OS picked for port 0). */
  port: number;
  /** Key id of the signing key (its RFC 7638 thumbprint). */
  kid: string;
  /** Where the key is kept; undefined when it lives in memory only. */
  keyFile?: string;
  /** Signs a token as `POST /token` does, without HTTP; throws on a body the endpoint would refuse. */
  issue(body: unknown): Promise<TokenResponse>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** The `client_id` claim (RFC 9068 §2.2) of the tokens the JSON `POST /token` signs. */
export const CLIENT_ID = 'cqrs-dev';
/** Largest `POST /token` body read: a legitimate one is a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/** An RFC 6749 §5.2 error answer: 400, or 401 for `invalid_client`. */
class OAuthError extends Error {
  readonly error: string;
  readonly status: number;
  constructor(error: string, description: string, status = 400) {
    super(description);
    this.error = error;
    this.status = status;
  }
}
class BadRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description);
  }
}
const FORM = 'application/x-www-form-urlencoded';

/**
 * Starts an OIDC-shaped token issuer for local development and tests: discovery, a JWKS with
 * one RS256 key, and `POST /token`. A JSON body signs an RFC 9068 access token for whatever
 * subject and roles the caller asks for, with no authentication at all: never expose it beyond a
 * developer machine or a test network. A form body is an OAuth 2.0 `client_credentials` grant
 * (RFC 6749 §4.4) for the confidential clients of `clients`/`secretsDir`: the token's `sub` and
 * `client_id` are the client's id, `aud` is {@link CLIENT_AUDIENCE} (which the JSON body may not
 * ask for), it lives {@link CLIENT_TOKEN_TTL_S} seconds.
 *
 * @example A production-mode app under test, against an issuer it must accept:
 *   const issuer = await createIssuer({ development: false });
 *   const app = await startApp('command-service', { NODE_ENV: 'production', OIDC_ISSUER_URL: issuer.url });
 *   const { access_token } = await issuer.issue({ sub: 'alice', roles: ['admin'] });
 *   ...
 *   await issuer.close();
 */
export async function createIssuer(options: IssuerOptions): Promise<Issuer> {
  const { host = '127.0.0.1', port = 0, development, log = () => undefined } = options;
  // Checked before anything starts, so a bad URL fails fast and leaves nothing listening.
  const configuredUrl = options.issuerUrl === undefined ? undefined : issuerIdentifier(options.issuerUrl);
  const key = await loadOrCreateSigningKey(options.stateDir);
  const sources: ClientSource[] = [];
  if (options.clients?.length) sources.push(staticClients(options.clients));
  if (options.secretsDir !== undefined) sources.push(secretsDirClients(options.secretsDir));
  // Known once listening: by default it holds the port the OS picked.
  let url = '';

  async function sign(request: TokenRequest, clientId = CLIENT_ID): Promise<TokenResponse> {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ client_id: clientId, roles: request.roles })
      .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(url)
      .setSubject(request.sub)
      .setAudience(request.aud)
      .setIssuedAt(now)
      .setExpirationTime(now + request.expiresIn)
      .setJti(randomUUID());
    if (request.notBefore !== undefined) jwt.setNotBefore(now + request.notBefore);
    return { access_token: await jwt.sign(key.privateKey), token_type: 'Bearer', expires_in: request.expiresIn };
  }

  const discovery = () => ({
    issuer: url,
    jwks_uri: `${url}/jwks`,
    token_endpoint: `${url}/token`,
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ALGORITHM],
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    cqrs_development_issuer: development,
  });
  // The marker is on the key set too (RFC 7517 §5 lets a JWK Set carry more members), so an app
  // configured with the JWKS URL alone, skipping discovery, still recognises this issuer.
  const jwks = { keys: [key.publicJwk], cqrs_development_issuer: development };

  /** A JSON body: the development token of whatever the caller asks; a form body: client_credentials. */
  async function token(req: IncomingMessage): Promise<TokenResponse> {
    const type = mediaType(req.headers['content-type']);
    if (type?.essence !== 'application/json' && type?.essence !== FORM) {
      throw new BadRequest(
        `content-type must be application/json (a development token) or ${FORM} (the client_credentials grant)`,
      );
    }
    const charset = type.params.get('charset');
    if (charset && charset.toLowerCase() !== 'utf-8') throw new BadRequest('content-type charset must be utf-8');
    const body = await readBody(req);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new BadRequest('body must be UTF-8');
    }
    if (type.essence === FORM) return clientCredentials(req, text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new BadRequest(`body is not valid JSON (${(error as Error).message})`);
    }
    return sign(developmentRequest(json, (problem) => new BadRequest(problem)));
  }

  /** The JSON body's request, refusing the audience reserved for authenticated clients. */
  function developmentRequest(body: unknown, fail: (problem: string) => Error): TokenRequest {
    const parsed = parseTokenRequest(body);
    if (!parsed.ok) throw fail(parsed.problem);
    if (parsed.request.aud === CLIENT_AUDIENCE) {
      throw fail(
        `aud: ${CLIENT_AUDIENCE} is only for the client_credentials grant (a form body with a client id and secret)`,
      );
    }
    return parsed.request;
  }

  /** RFC 6749 §4.4: a confidential client authenticates (§2.3.1, basic or in the body) and gets a token. */
  async function clientCredentials(req: IncomingMessage, text: string): Promise<TokenResponse> {
    const params = new URLSearchParams(text);
    for (const name of new Set(params.keys())) {
      if (params.getAll(name).length > 1) throw new BadRequest(`parameter ${name} is repeated`);
    }
    const fromHeader = basicCredentials(req.headers.authorization);
    const fromBody = params.has('client_secret')
      ? { id: params.get('client_id') ?? '', secret: params.get('client_secret') ?? '' }
      : undefined;
    if (fromHeader && fromBody)
      throw new BadRequest(
        'use one client authentication method: the Authorization header or client_secret in the body',
      );
    if (fromHeader && params.has('client_id') && params.get('client_id') !== fromHeader.id) {
      throw new BadRequest('client_id in the body is not the client of the Authorization header');
    }
    const credentials = fromHeader ?? fromBody;
    // One answer for an unknown client and a wrong secret: the caller learns nothing of which.
    const refused = new OAuthError('invalid_client', 'client authentication failed', 401);
    if (!credentials)
      throw new OAuthError(
        'invalid_client',
        'client authentication is required (HTTP basic, or client_id and client_secret in the body)',
        401,
      );
    let client: Awaited<ReturnType<ClientSource>>;
    for (const source of sources) {
      client = await source(credentials.id);
      if (client) break;
    }
    if (!client || !secretMatches(credentials.secret, client.secret)) throw refused;
    const grant = params.get('grant_type');
    if (!grant) throw new BadRequest('grant_type is required');
    if (grant !== 'client_credentials')
      throw new OAuthError('unsupported_grant_type', `grant_type ${grant} is not supported; use client_credentials`);
    // `scope`, when sent, is accepted and ignored: the token carries the client's roles.
    return sign(
      { sub: credentials.id, roles: client.roles, aud: CLIENT_AUDIENCE, expiresIn: CLIENT_TOKEN_TTL_S },
      credentials.id,
    );
  }

  const routes: Record<
    string,
    { methods: string[]; handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> }
  > = {
    '/.well-known/openid-configuration': {
      methods: ['GET', 'HEAD'],
      handle: async (_req, res) => send(res, 200, discovery()),
    },
    '/jwks': {
      methods: ['GET', 'HEAD'],
      handle: async (_req, res) => send(res, 200, jwks, { 'cache-control': 'max-age=300' }),
    },
    '/token': {
      methods: ['POST'],
      handle: async (req, res) => send(res, 200, await token(req), { 'cache-control': 'no-store', pragma: 'no-cache' }),
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route)
      return send(res, 404, {
        error: 'not_found',
        error_description: `no ${path} here; try /.well-known/openid-configuration`,
      });
    if (!route.methods.includes(req.method ?? '')) {
      const description = `${req.method} is not allowed on ${path}; use ${route.methods.join(' or ')}`;
      return send(
        res,
        405,
        { error: 'invalid_request', error_description: description },
        { allow: route.methods.join(', ') },
      );
    }
    await route.handle(req, res);
  }

  const server = createServer((req, res) => {
    // A trailing slash is tolerated: Apicurio Registry posts to `<token endpoint>/`.
    const path = ((req.url ?? '/').split('?')[0] ?? '/').replace(/(.)\/+$/, '$1');
    handle(req, res, path).catch((error: unknown) => {
      if (error instanceof OAuthError) return refuse(req, res, error);
      log(`dev-issuer: ${req.method} ${path} failed: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent)
        send(res, 500, { error: 'server_error', error_description: 'the issuer failed; see its log' });
      else res.destroy();
    });
  });
  // A request must arrive whole, and quickly: nothing legitimate here is slow or large.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : error),
    );
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  url = configuredUrl ?? defaultUrl(host, bound);
  server.on('error', (error) => log(`dev-issuer: server error: ${error.message}`));

  return {
    url,
    port: bound,
    kid: key.kid,
    ...(key.file === undefined ? {} : { keyFile: key.file }),
    async issue(body) {
      return sign(developmentRequest(body, (problem) => new Error(`invalid token request: ${problem}`)));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...headers });
  res.end(JSON.stringify(body));
}

/** An RFC 6749 §5.2 error for a caller's mistake; the rest of a body still arriving is drained, unread. */
function refuse(req: IncomingMessage, res: ServerResponse, error: OAuthError): void {
  const complete = req.complete;
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...(complete ? {} : { connection: 'close' }) };
  if (error.status === 401) headers['www-authenticate'] = 'Basic realm="dev-issuer"';
  send(res, error.status, { error: error.error, error_description: error.message }, headers);
  if (!complete) req.resume();
}

/**
 * The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: each
 * form-urlencoded, then joined by a colon and base64-encoded); undefined without such a header.
 */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new BadRequest('the Authorization header must hold client_id:client_secret');
  const formDecode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      throw new BadRequest('the Authorization header credentials must be form-urlencoded');
    }
  };
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

function mediaType(header: string | undefined): MIMEType | undefined {
  if (header === undefined) return undefined;
  try {
    return new MIMEType(header);
  } catch {
    return undefined;
  }
}

/** The request body, or a BadRequest as soon as it is known to exceed MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => new BadRequest(`body must be at most ${MAX_BODY_BYTES} bytes`);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off('data', onData);
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function defaultUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** An http(s) URL without query, fragment or credentials; a trailing slash is dropped so `${url}/jwks` is one slash. */
function issuerIdentifier(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Error(`the issuer URL ${JSON.stringify(value)} is not a URL`);
  }
  if (
    !['http:', 'https:'].includes(parsed.protocol) ||
    parsed.search ||
    parsed.hash ||
    parsed.username ||
    parsed.password
  ) {
    throw new Error(`the issuer URL ${value} must be http(s), without query, fragment or credentials`);
  }
  return value.replace(/\/+$/, '');
}
