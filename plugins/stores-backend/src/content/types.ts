/** What a suggestion is asked for: the store as its owner described it. */
export interface SuggestionInput {
  name: string;
  description?: string;
}

/** A suggestion's content, from the model or the fallback. */
export interface ContentSuggestionDraft {
  title: string;
  tagline: string;
  products: Array<{ name: string; description: string; price: string }>;
}

/** A suggestion as the API returns it: the content and which source produced it. */
export interface ContentSuggestion extends ContentSuggestionDraft {
  source: 'ai' | 'fallback';
  /** The model that answered, for source `ai`. */
  model?: string;
  /** Why the fallback answered, for source `fallback`. */
  fallbackReason?: string;
}
