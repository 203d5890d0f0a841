import { screen } from '@testing-library/react';
import { MarkdownContent } from '@backstage/core-components';
import { renderInTestApp } from '@backstage/test-utils';
import { escapeMarkdown } from '@storeplane/plugin-stores-common';

// The catalog's About card renders an entity's description with MarkdownContent; the stores
// entity provider writes store descriptions through escapeMarkdown.
describe('store descriptions in the catalog', () => {
  const attacks = [
    'Pay here: [Stripe checkout](https://evil.example/pay)',
    'Autolinked https://evil.example/pay and www.evil.example and billing@evil.example',
    '![logo](https://evil.example/x.png) <a href="https://evil.example">click</a>',
    '<img src=x onerror=alert(1)> **bold** `code` # heading',
  ];

  it.each(attacks)('shows %j as text, with no link or image', async text => {
    const { container } = await renderInTestApp(
      <MarkdownContent content={escapeMarkdown(text)} />,
    );
    expect(container.querySelectorAll('a, img, strong, code, h1')).toHaveLength(
      0,
    );
    // What the reader sees is the text as written (word joiners are invisible).
    expect(container.textContent?.replace(/\u2060/g, '').trim()).toBe(text);
    expect(screen.queryByRole('link')).toBeNull();
  });

  it('would have rendered the unescaped text as a link (the test can fail)', async () => {
    const { container } = await renderInTestApp(
      <MarkdownContent content={attacks[0]} />,
    );
    expect(container.querySelectorAll('a')).toHaveLength(1);
  });
});
