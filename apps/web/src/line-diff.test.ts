import { lineDiff } from './line-diff.js';

describe('lineDiff', () => {
  it('keeps common lines and marks what was removed and added, in order', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n')).toEqual([
      { op: 'same', text: 'a' },
      { op: 'removed', text: 'b' },
      { op: 'added', text: 'B' },
      { op: 'same', text: 'c' },
      { op: 'added', text: 'd' },
    ]);
  });

  it('shows a new file as all added and a removal as all removed', () => {
    expect(lineDiff('', 'x\ny')).toEqual([
      { op: 'added', text: 'x' },
      { op: 'added', text: 'y' },
    ]);
    expect(lineDiff('x', '')).toEqual([{ op: 'removed', text: 'x' }]);
  });

  it('rebuilds both texts from its lines', () => {
    const oldText = 'one\ntwo\nthree\nfour\nfive';
    const newText = 'zero\none\nthree\n4\nfive\nsix';
    const lines = lineDiff(oldText, newText);
    expect(lines.filter((l) => l.op !== 'added').map((l) => l.text).join('\n')).toBe(oldText);
    expect(lines.filter((l) => l.op !== 'removed').map((l) => l.text).join('\n')).toBe(newText);
    expect(lines.filter((l) => l.op === 'same').map((l) => l.text)).toEqual(['one', 'three', 'five']);
  });
});
