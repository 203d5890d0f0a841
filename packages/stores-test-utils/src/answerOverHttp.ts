import type http from 'node:http';
import { Readable } from 'node:stream';
import type { FakeKubernetesApi } from './FakeKubernetesApi';

/**
 * Answers one request of a real HTTP server with the fake, for clients that speak HTTP rather
 * than through msw (the benches' fake process, watch tests): a watch is streamed as the fake
 * sends its events, until the fake ends it or the client goes away.
 */
export async function answerOverHttp(
  fake: FakeKubernetesApi,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = `http://${req.headers.host}${req.url}`;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
  const response = await fake.respond(
    new Request(url, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    }),
  );
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body && new URL(url).searchParams.has('watch')) {
    // The API server answers a watch at once, before its first event.
    res.flushHeaders();
    const events = Readable.fromWeb(response.body as any);
    res.on('close', () => events.destroy());
    events.pipe(res);
    return;
  }
  res.end(Buffer.from(await response.arrayBuffer()));
}
