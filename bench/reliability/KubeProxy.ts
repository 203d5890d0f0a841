import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';

/** What a request looked like, for crash points and counts. */
export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
}

/** A crash point: where to stop the backend, before its request is sent or after it landed. */
export interface Interception {
  /** `before`: the request never reaches the API server; `after`: it did, the answer is lost. */
  when: 'before' | 'after';
  /** For `after`: only when the API server's answer looks like this. */
  answer?: (status: number, body: string) => boolean;
  onHit: () => Promise<void>;
}

export type FaultKind =
  | '429 Too Many Requests'
  | '500 etcdserver timeout'
  | '503 Service Unavailable'
  | '500 webhook refused'
  | 'timeout'
  | 'connection reset';

const READ_FAULTS: FaultKind[] = [
  '429 Too Many Requests',
  '500 etcdserver timeout',
  '503 Service Unavailable',
  'timeout',
  'connection reset',
];
const WRITE_FAULTS: FaultKind[] = [...READ_FAULTS, '500 webhook refused'];

const STATUS_FAULTS: Partial<Record<FaultKind, [number, string, string]>> = {
  '429 Too Many Requests': [
    429,
    'TooManyRequests',
    'the server has received too many requests and has asked us to try again later',
  ],
  '500 etcdserver timeout': [
    500,
    'InternalError',
    'etcdserver: request timed out',
  ],
  '503 Service Unavailable': [
    503,
    'ServiceUnavailable',
    'the server is currently unable to handle the request',
  ],
  '500 webhook refused': [
    500,
    'InternalError',
    'Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused',
  ],
};

/** A small deterministic random source, so a run can be repeated. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An HTTP proxy in front of the real API server for Storeplane's backends. It can fail a
 * share of the calls the way a cluster does (429, 5xx, an admission webhook refusing, a call
 * that never answers, a reset connection), and it can stop a backend at a crash point.
 */
export class KubeProxy {
  faultRate = 0;
  readonly faults = new Map<FaultKind, number>();
  requests = 0;
  intercept:
    | ((request: ProxiedRequest) => Interception | undefined)
    | undefined;
  private server: http.Server | undefined;
  private readonly target: URL;

  constructor(
    apiServer: string,
    private readonly ca: Buffer,
    private readonly random: () => number = Math.random,
  ) {
    this.target = new URL(apiServer);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', chunk => chunks.push(chunk));
      req.on('end', () => {
        this.handle(req, res, Buffer.concat(chunks)).catch(() => res.destroy());
      });
    });
    await new Promise<void>(resolve =>
      this.server!.listen(0, '127.0.0.1', resolve),
    );
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async close() {
    this.server?.closeAllConnections();
    await new Promise(resolve => this.server?.close(resolve));
  }

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ) {
    this.requests++;
    const request: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0],
      body: body.toString('utf8'),
    };
    const interception = this.intercept?.(request);
    if (interception?.when === 'before') {
      await interception.onHit();
      res.destroy();
      return;
    }
    if (!interception && this.random() < this.faultRate) {
      this.injectFault(request, res);
      return;
    }
    const answer = await this.forward(req, body);
    if (
      interception &&
      (!interception.answer ||
        interception.answer(answer.status, answer.body.toString('utf8')))
    ) {
      await interception.onHit();
      res.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  private injectFault(request: ProxiedRequest, res: http.ServerResponse) {
    const kinds = request.method === 'GET' ? READ_FAULTS : WRITE_FAULTS;
    const kind = kinds[Math.floor(this.random() * kinds.length)];
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
    if (kind === 'timeout') {
      // Never answers; the client's request timeout ends it.
      setTimeout(() => res.destroy(), 60_000).unref();
      return;
    }
    if (kind === 'connection reset') {
      res.socket?.resetAndDestroy();
      return;
    }
    const [code, reason, message] = STATUS_FAULTS[kind]!;
    res.writeHead(code, {
      'content-type': 'application/json',
      ...(code === 429 ? { 'retry-after': '1' } : {}),
    });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        code,
      }),
    );
  }

  private forward(
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
  }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.target.host };
      delete headers.connection;
      const upstream = https.request(
        {
          hostname: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers,
          ca: this.ca,
        },
        response => {
          const chunks: Buffer[] = [];
          response.on('data', chunk => chunks.push(chunk));
          response.on('end', () => {
            const responseHeaders = { ...response.headers };
            delete responseHeaders['transfer-encoding'];
            delete responseHeaders.connection;
            resolve({
              status: response.statusCode ?? 502,
              headers: responseHeaders,
              body: Buffer.concat(chunks),
            });
          });
          response.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}
