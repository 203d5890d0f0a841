import { escapeMarkdown, textProblem } from './textRules';

describe('textProblem', () => {
  it.each([
    ['NUL', 'a\u0000b', 'found U+0000 at position 2'],
    ['escape', '\u001b[31m', 'found U+001B at position 1'],
    ['DEL', 'x\u007f', 'found U+007F'],
    ['a C1 control', 'x\u0085', 'found U+0085'],
    ['a carriage return', 'a\rb', 'found U+000D'],
  ])('refuses %s', (_, value, where) => {
    expect(textProblem(value, { maxLength: 50 })).toMatch(
      `must not contain control characters (${where}`,
    );
  });

  it('lets descriptions keep tabs and line breaks, nothing else', () => {
    expect(
      textProblem('one\n\ttwo', { maxLength: 50, multiline: true }),
    ).toBeUndefined();
    expect(textProblem('one\ntwo', { maxLength: 50 })).toMatch(/U\+000A/);
    expect(textProblem('a\u0000', { maxLength: 50, multiline: true })).toMatch(
      /only tabs and line breaks are allowed/,
    );
  });

  it('refuses text-direction overrides and over-long text', () => {
    expect(textProblem('abc\u202e', { maxLength: 50 })).toMatch(
      /invisible text-direction characters \(found U\+202E at position 4\)/,
    );
    expect(textProblem('x'.repeat(6), { maxLength: 5 })).toBe(
      'must be at most 5 characters long (got 6)',
    );
    expect(textProblem('Ünïcödé shop ✓', { maxLength: 50 })).toBeUndefined();
  });
});

describe('escapeMarkdown', () => {
  it('escapes every Markdown construct and breaks what GFM would autolink', () => {
    const escaped = escapeMarkdown(
      '[x](https://a.example) www.b.example c@d.example',
    );
    expect(escaped).not.toMatch(/https?:\/\/|www\.|\w@\w/);
    expect(escaped).toContain('\\[x\\]\\(');
    // Nothing but backslashes and invisible word joiners is added.
    expect(escaped.replace(/[\\\u2060]/g, '')).toBe(
      '[x](https://a.example) www.b.example c@d.example',
    );
  });

  it('leaves plain words alone', () => {
    expect(escapeMarkdown('Summer sale 2026')).toBe('Summer sale 2026');
  });
});
