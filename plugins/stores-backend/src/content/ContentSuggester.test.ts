import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { ContentSuggester } from './ContentSuggester';

const server = setupServer();
registerMswTestHooks(server);

const BASE_URL = 'http://llm.test/v1';
const ai = {
  baseUrl: BASE_URL,
  model: 'small-model',
  apiKey: 'sk-test',
  timeoutMs: 300,
};
const input = { name: 'corner-coffee', description: 'Beans from Kenya' };

const goodAnswer = {
  title: 'Corner Coffee',
  tagline: 'Fresh beans, roasted on the corner.',
  products: [
    { name: 'House Blend', description: 'Medium roast.', price: 9.5 },
    { name: 'Kenya AA', description: 'Bright and fruity.', price: '14' },
    { name: 'Grinder', description: 'Burr grinder.', price: 49.99 },
  ],
};

function completion(content: string) {
  return HttpResponse.json({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content } }],
  });
}

function suggester(config: typeof ai | undefined) {
  return new ContentSuggester(config, mockServices.logger.mock());
}

describe('ContentSuggester', () => {
  it('asks the configured endpoint and says the model answered', async () => {
    let request: { auth: string | null; body: any } | undefined;
    server.use(
      http.post(`${BASE_URL}/chat/completions`, async ({ request: req }) => {
        request = {
          auth: req.headers.get('authorization'),
          body: await req.json(),
        };
        return completion(JSON.stringify(goodAnswer));
      }),
    );
    const suggestion = await suggester(ai).suggest(input);
    expect(suggestion).toEqual({
      source: 'ai',
      model: 'small-model',
      title: 'Corner Coffee',
      tagline: 'Fresh beans, roasted on the corner.',
      products: [
        { name: 'House Blend', description: 'Medium roast.', price: '9.50' },
        { name: 'Kenya AA', description: 'Bright and fruity.', price: '14.00' },
        { name: 'Grinder', description: 'Burr grinder.', price: '49.99' },
      ],
    });
    expect(request!.auth).toBe('Bearer sk-test');
    expect(request!.body.model).toBe('small-model');
    expect(JSON.parse(request!.body.messages[1].content)).toEqual({
      storeName: 'corner-coffee',
      description: 'Beans from Kenya',
    });
  });

  it('accepts JSON inside a Markdown code fence', async () => {
    server.use(
      http.post(`${BASE_URL}/chat/completions`, () =>
        completion(`\`\`\`json\n${JSON.stringify(goodAnswer)}\n\`\`\``),
      ),
    );
    expect((await suggester(ai).suggest(input)).source).toBe('ai');
  });

  it('answers from the fallback when nothing is configured, the same each time', async () => {
    const first = await suggester(undefined).suggest(input);
    expect(first).toMatchObject({
      source: 'fallback',
      fallbackReason: 'No storeplane.ai endpoint is configured.',
      title: 'Corner Coffee',
    });
    expect(first.products).toHaveLength(3);
    expect(first.products[0].name).toMatch(/Blend/);
    expect(await suggester(undefined).suggest(input)).toEqual(first);
  });

  it.each([
    [
      'an HTTP error',
      () => HttpResponse.json({ error: 'overloaded' }, { status: 503 }),
      'The endpoint answered HTTP 503.',
    ],
    [
      'a body that is no chat completion',
      () => HttpResponse.text('<html>proxy error</html>'),
      'The endpoint did not answer with a chat completion.',
    ],
    [
      'prose instead of JSON',
      () => completion('Sure! Here are some ideas: ...'),
      "The model's answer is not JSON.",
    ],
    [
      'two products instead of three',
      () =>
        completion(
          JSON.stringify({
            ...goodAnswer,
            products: goodAnswer.products.slice(0, 2),
          }),
        ),
      "The model's answer is not the expected JSON: products",
    ],
    [
      'a negative price',
      () =>
        completion(
          JSON.stringify({
            ...goodAnswer,
            products: [
              { ...goodAnswer.products[0], price: -1 },
              ...goodAnswer.products.slice(1),
            ],
          }),
        ),
      "The model's answer is not the expected JSON: products.0.price must be a positive price.",
    ],
    [
      'a control character in the title',
      () => completion(JSON.stringify({ ...goodAnswer, title: 'Shop\u0000' })),
      "The model's answer is not the expected JSON: title must be plain text",
    ],
    [
      'an answer past the timeout',
      async () => {
        await delay(2_000);
        return completion(JSON.stringify(goodAnswer));
      },
      'The endpoint did not answer within 0.3 s.',
    ],
    [
      'a network error',
      () => HttpResponse.error(),
      'The endpoint could not be reached',
    ],
  ])('falls back on %s and says why', async (_case, answer, reason) => {
    server.use(http.post(`${BASE_URL}/chat/completions`, answer));
    const started = Date.now();
    const suggestion = await suggester(ai).suggest(input);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(suggestion.source).toBe('fallback');
    expect(suggestion.fallbackReason).toContain(reason);
    expect(suggestion.products).toHaveLength(3);
  });
});
