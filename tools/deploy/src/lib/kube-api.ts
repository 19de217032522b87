import { Agent, request } from 'node:https';

/** A Kubernetes object as the API server returns it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
    uid?: string;
    [key: string]: unknown;
  };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes objects of every kind
  status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes objects of every kind
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
  /** The server's `Warning` headers (deprecations, Pod Security Admission in warn mode...). */
  warnings: string[];
}

/** The server's refusal: its HTTP status and Status message. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * A minimal client of the Kubernetes REST API for the tests: bearer token, the cluster's CA, JSON.
 * Resource paths come from the server's discovery documents, so custom resources work too.
 */
export class KubeApi {
  private readonly agent: Agent;
  private readonly discovery = new Map<string, ApiResource[]>();

  constructor(
    readonly server: string,
    private readonly token: string,
    ca: string,
  ) {
    // No keep-alive: a pooled connection the server has closed meanwhile fails the next write (EPIPE).
    this.agent = new Agent({ ca, keepAlive: false, maxSockets: 4 });
  }

  close(): void {
    this.agent.destroy();
  }

  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<KubeResponse<T>> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType }),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // plain text (/readyz answers "ok")
            }
            const warning = res.headers['warning'];
            resolve({
              status: res.statusCode ?? 0,
              body: parsed as T,
              warnings: (Array.isArray(warning) ? warning : warning ? [warning] : []).map((w) =>
                w.replace(/^299 - "(.*)"$/, '$1'),
              ),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** The request, or a KubeError carrying the server's Status message. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<KubeResponse<T>> {
    const response = await this.request<T>(method, path, body, contentType);
    if (response.status >= 300) {
      const status = response.body as { message?: string; reason?: string } | string;
      const message = typeof status === 'string' ? status : (status?.message ?? JSON.stringify(status));
      const reason = typeof status === 'string' ? '' : (status?.reason ?? '');
      throw new KubeError(response.status, reason, `${method} ${path}: ${response.status} ${message}`);
    }
    return response;
  }

  async get<T = KubeObject>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).body;
  }

  /** The resources of one group version (`v1`, `apps/v1`, `kafka.strimzi.io/v1beta2`). */
  async resources(apiVersion: string, refresh = false): Promise<ApiResource[]> {
    if (refresh || !this.discovery.has(apiVersion)) {
      const path = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
      const response = await this.request<{ resources: ApiResource[] }>('GET', path);
      this.discovery.set(
        apiVersion,
        response.status === 200 ? response.body.resources.filter((r) => !r.name.includes('/')) : [],
      );
    }
    return this.discovery.get(apiVersion) ?? [];
  }

  /** Whether the server serves this kind in this group version. */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resources(apiVersion, true)).some((r) => r.kind === kind);
  }

  /** The collection path of a kind (in a namespace, if it is namespaced). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    let resource = (await this.resources(apiVersion)).find((r) => r.kind === kind);
    if (!resource) resource = (await this.resources(apiVersion, true)).find((r) => r.kind === kind);
    if (!resource) throw new Error(`the server serves no ${kind} in ${apiVersion}`);
    const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
    if (!resource.namespaced) return `${base}/${resource.name}`;
    if (!namespace) throw new Error(`${kind} is namespaced: name the namespace`);
    return `${base}/namespaces/${namespace}/${resource.name}`;
  }

  async pathOf(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    const collection = await this.collectionPath(object.apiVersion, object.kind, object.metadata.namespace);
    return `${collection}/${object.metadata.name}`;
  }

  /** GET one object, or undefined when the server has none. */
  async read(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const path = `${await this.collectionPath(apiVersion, kind, namespace)}/${name}`;
    const response = await this.request<KubeObject>('GET', path);
    if (response.status === 404) return undefined;
    if (response.status !== 200)
      throw new KubeError(response.status, '', `GET ${path}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<KubeObject[]> {
    const path = await this.collectionPath(apiVersion, kind, namespace);
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const list = await this.get<{ items: KubeObject[] }>(`${path}${query}`);
    return list.items.map((item) => ({ ...item, apiVersion, kind }));
  }

  /** POST an object; with dryRun the server validates and admits it (webhooks, Pod Security) but stores nothing. */
  async create(object: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeResponse<KubeObject>> {
    const path = await this.collectionPath(object.apiVersion, object.kind, object.metadata.namespace);
    return this.call<KubeObject>('POST', `${path}${options.dryRun ? '?dryRun=All' : ''}`, object);
  }

  async delete(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<void> {
    const response = await this.request('DELETE', await this.pathOf(object));
    if (response.status !== 404 && response.status >= 300)
      throw new KubeError(
        response.status,
        '',
        `DELETE ${object.kind}/${object.metadata.name}: ${JSON.stringify(response.body)}`,
      );
  }
}

/** Polls until `check` returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
