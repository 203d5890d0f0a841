import { isoTime } from './isoTime';

const asDate = (ms: number) => new Date(ms).toISOString();

describe('isoTime', () => {
  it('writes what toISOString writes at the edges of days, months, leap years and its range', () => {
    const edges = [
      0,
      1,
      999,
      59_999,
      86_399_999,
      86_400_000,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999), // a leap day of a year divisible by 400
      Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 12), // 2100 is not a leap year
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(2025, 0, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      // Outside the arithmetic's range: toISOString's own answers.
      Date.UTC(10000, 0, 1),
      -1,
      Date.UTC(1969, 6, 20, 20, 17),
      Date.UTC(-1, 0, 1),
    ];
    for (const ms of edges) expect(isoTime(ms)).toBe(asDate(ms));
  });

  it('writes what toISOString writes for times spread over its range', () => {
    let seed = 42;
    const next = () => {
      // A small linear congruential generator: the same times on every run.
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(next() * next() * 253_402_300_800_000);
      expect(isoTime(ms)).toBe(asDate(ms));
    }
  });

  it('throws on an invalid time, as toISOString does', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});
