import { ContentSuggestionDraft, SuggestionInput } from './types';

interface Catalogue {
  keywords: string[];
  products: ContentSuggestionDraft['products'];
}

// Starter products by what the store's name or description mentions; the first match wins.
const CATALOGUES: Catalogue[] = [
  {
    keywords: ['coffee', 'espresso', 'roast', 'cafe'],
    products: [
      {
        name: 'House Blend, 250 g',
        description: 'A balanced medium roast for every morning.',
        price: '9.50',
      },
      {
        name: 'Single-Origin Espresso, 250 g',
        description: 'Bright and chocolatey; roasted in small batches.',
        price: '12.00',
      },
      {
        name: 'Pour-Over Starter Kit',
        description: 'Dripper, filters and a scoop to brew at home.',
        price: '29.00',
      },
    ],
  },
  {
    keywords: ['tea', 'matcha', 'chai'],
    products: [
      {
        name: 'Breakfast Black Tea, 100 g',
        description: 'Malty loose-leaf tea that takes milk well.',
        price: '7.50',
      },
      {
        name: 'Ceremonial Matcha, 30 g',
        description: 'Stone-ground green tea for whisking.',
        price: '18.00',
      },
      {
        name: 'Glass Teapot',
        description: 'Heat-proof teapot with a steel infuser.',
        price: '24.00',
      },
    ],
  },
  {
    keywords: ['book', 'read', 'library', 'novel'],
    products: [
      {
        name: 'Staff Pick of the Month',
        description: 'A novel our team could not put down.',
        price: '16.00',
      },
      {
        name: 'Reading Journal',
        description: 'A linen-bound notebook to log every book.',
        price: '14.00',
      },
      {
        name: 'Gift Card',
        description: 'Let them choose their next read.',
        price: '25.00',
      },
    ],
  },
  {
    keywords: ['bake', 'bakery', 'bread', 'cake', 'pastry'],
    products: [
      {
        name: 'Sourdough Loaf',
        description: 'Naturally leavened, baked every morning.',
        price: '6.00',
      },
      {
        name: 'Butter Croissants, box of 4',
        description: 'Flaky, laminated by hand.',
        price: '8.00',
      },
      {
        name: 'Celebration Cake',
        description: 'Sponge and cream for eight; order two days ahead.',
        price: '35.00',
      },
    ],
  },
  {
    keywords: ['plant', 'garden', 'flower', 'seed'],
    products: [
      {
        name: 'Easy-Care Pothos',
        description: 'A trailing houseplant that forgives a missed watering.',
        price: '15.00',
      },
      {
        name: 'Herb Seed Collection',
        description: 'Basil, parsley and chives for a sunny sill.',
        price: '9.00',
      },
      {
        name: 'Terracotta Pot, 15 cm',
        description: 'Breathable clay pot with a saucer.',
        price: '11.00',
      },
    ],
  },
  {
    keywords: ['shoe', 'sneaker', 'wear', 'fashion', 'cloth', 'shirt'],
    products: [
      {
        name: 'Everyday Tee',
        description: 'Organic cotton, relaxed fit.',
        price: '22.00',
      },
      {
        name: 'Canvas Sneakers',
        description: 'Lightweight sneakers with a cushioned sole.',
        price: '59.00',
      },
      {
        name: 'Wool Socks, 3 pairs',
        description: 'Warm, soft and hard-wearing.',
        price: '18.00',
      },
    ],
  },
];

const GENERAL: ContentSuggestionDraft['products'] = [
  {
    name: 'Signature Item',
    description: 'The product your customers come back for.',
    price: '19.00',
  },
  {
    name: 'Starter Bundle',
    description: 'A little of everything to try the shop.',
    price: '39.00',
  },
  {
    name: 'Gift Card',
    description: 'The easy present, redeemable for anything in the store.',
    price: '25.00',
  },
];

const TAGLINES = [
  'Good things, chosen with care.',
  'Small shop, big on quality.',
  'Everything you need, nothing you do not.',
  'Made to be loved and used every day.',
];

/** "corner-bakery" → "Corner Bakery". */
function titleOf(name: string): string {
  return name
    .split(/[-\s]+/)
    .filter(Boolean)
    .map(word => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

/** A stable small number from the name, so the same store always gets the same tagline. */
function stableIndex(text: string, size: number): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % size;
}

/**
 * Suggestions without a language model: the title from the store's name, a tagline picked by
 * the name, and starter products by the first catalogue whose keywords the name or
 * description mentions. The same input always gives the same answer.
 */
export function fallbackSuggestion(
  input: SuggestionInput,
): ContentSuggestionDraft {
  const text = `${input.name} ${input.description ?? ''}`.toLowerCase();
  const catalogue = CATALOGUES.find(c =>
    c.keywords.some(keyword => text.includes(keyword)),
  );
  return {
    title: titleOf(input.name),
    tagline: TAGLINES[stableIndex(input.name, TAGLINES.length)],
    products: catalogue?.products ?? GENERAL,
  };
}
