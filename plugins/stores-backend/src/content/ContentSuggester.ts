import { LoggerService } from '@backstage/backend-plugin-api';
import { textProblem } from '@storeplane/plugin-stores-common';
import { z } from 'zod';
import { StoresConfig } from '../config/readStoresConfig';
import { fallbackSuggestion } from './fallbackSuggestion';
import {
  ContentSuggestion,
  ContentSuggestionDraft,
  SuggestionInput,
} from './types';

/** The most of an endpoint's answer that is read; a suggestion is a few hundred bytes. */
const MAX_RESPONSE_BYTES = 256 * 1024;

const cleanText = (maxLength: number) =>
  z
    .string()
    .trim()
    .min(1)
    .refine(value => !textProblem(value, { maxLength }), {
      message: `must be plain text of at most ${maxLength} characters`,
    });

const draftSchema = z.object({
  title: cleanText(60),
  tagline: cleanText(140),
  products: z
    .array(
      z.object({
        name: cleanText(80),
        description: cleanText(300),
        price: z.union([z.number(), z.string()]).transform((value, ctx) => {
          const price = Number(value);
          if (!Number.isFinite(price) || price <= 0 || price >= 1_000_000) {
            ctx.addIssue({
              code: 'custom',
              message: 'must be a positive price',
            });
            return z.NEVER;
          }
          return price.toFixed(2);
        }),
      }),
    )
    .length(3),
});

const completionSchema = z.object({
  choices: z
    .array(z.object({ message: z.object({ content: z.string() }) }))
    .min(1),
});

const SYSTEM_PROMPT = [
  'You write starter content for a new online shop.',
  'Answer with one JSON object and nothing else, of this shape:',
  '{"title": string (at most 60 characters), "tagline": string (at most 140 characters),',
  '"products": [exactly 3 of {"name": string (at most 80 characters),',
  '"description": string (at most 300 characters), "price": number}]}.',
].join(' ');

class SuggestionFailure extends Error {}

/**
 * Suggests a store's title, tagline and three starter products from an OpenAI-compatible
 * chat-completions endpoint (`storeplane.ai`), or from {@link fallbackSuggestion} when none
 * is configured or its answer is late, an error, or not the JSON asked for. Never throws for
 * the endpoint's faults: the answer says which source produced it and why.
 */
export class ContentSuggester {
  constructor(
    private readonly ai: StoresConfig['ai'],
    private readonly logger: LoggerService,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  async suggest(input: SuggestionInput): Promise<ContentSuggestion> {
    if (!this.ai) {
      return {
        ...fallbackSuggestion(input),
        source: 'fallback',
        fallbackReason: 'No storeplane.ai endpoint is configured.',
      };
    }
    try {
      const draft = await this.ask(this.ai, input);
      return { ...draft, source: 'ai', model: this.ai.model };
    } catch (error) {
      const reason =
        error instanceof SuggestionFailure
          ? error.message
          : `The endpoint could not be reached: ${(error as Error).message}`;
      this.logger.warn(`Content suggestion fell back: ${reason}`);
      return {
        ...fallbackSuggestion(input),
        source: 'fallback',
        fallbackReason: reason,
      };
    }
  }

  private async ask(
    ai: NonNullable<StoresConfig['ai']>,
    input: SuggestionInput,
  ): Promise<ContentSuggestionDraft> {
    const signal = AbortSignal.timeout(ai.timeoutMs);
    try {
      const response = await this.fetchFn(`${ai.baseUrl}/chat/completions`, {
        method: 'POST',
        signal,
        headers: {
          'content-type': 'application/json',
          ...(ai.apiKey ? { authorization: `Bearer ${ai.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: ai.model,
          temperature: 0.7,
          messages: [
            { role: 'system', content: SYSTEM_PROMPT },
            {
              role: 'user',
              content: JSON.stringify({
                storeName: input.name,
                description: input.description ?? '',
              }),
            },
          ],
        }),
      });
      const body = await readBounded(response);
      if (!response.ok) {
        throw new SuggestionFailure(
          `The endpoint answered HTTP ${response.status}.`,
        );
      }
      return parseCompletion(body);
    } catch (error) {
      if (signal.aborted) {
        throw new SuggestionFailure(
          `The endpoint did not answer within ${ai.timeoutMs / 1000} s.`,
        );
      }
      throw error;
    }
  }
}

async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      throw new SuggestionFailure(
        `The endpoint's answer is larger than ${MAX_RESPONSE_BYTES} bytes.`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseCompletion(body: string): ContentSuggestionDraft {
  let content: string;
  try {
    content = completionSchema.parse(JSON.parse(body)).choices[0].message
      .content;
  } catch {
    throw new SuggestionFailure(
      'The endpoint did not answer with a chat completion.',
    );
  }
  // Models often wrap JSON in a Markdown code fence despite being asked not to.
  const json = content
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new SuggestionFailure("The model's answer is not JSON.");
  }
  const parsed = draftSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SuggestionFailure(
      `The model's answer is not the expected JSON: ${issue.path.join('.')} ${
        issue.message
      }.`,
    );
  }
  return parsed.data;
}
