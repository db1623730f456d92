import { applyExactEdit } from './apply-exact-edit.js';

describe('applyExactEdit', () => {
  it('replaces the one occurrence literally', () => {
    expect(applyExactEdit('a\nStatus: draft\nb\n', 'Status: draft', 'Status: $& $1 done')).toEqual({
      ok: true,
      content: 'a\nStatus: $& $1 done\nb\n',
    });
  });

  it('can delete text and match across lines', () => {
    expect(applyExactEdit('one\ntwo\nthree\n', 'two\nthree\n', '')).toEqual({ ok: true, content: 'one\n' });
  });

  it('refuses text that is not there, with a hint', () => {
    const r = applyExactEdit('hello\n', 'Hello', 'x');
    expect(r).toEqual({ ok: false, error: expect.stringContaining('not found') });
  });

  it('refuses ambiguous text and says how often it occurs', () => {
    const r = applyExactEdit('x = 1\ny = 2\nx = 1\n', 'x = 1', 'x = 3');
    expect(r).toEqual({ ok: false, error: expect.stringContaining('occurs 2 times') });
  });

  it('counts non-overlapping occurrences', () => {
    expect(applyExactEdit('aaa', 'aa', 'b')).toEqual({ ok: true, content: 'ba' });
  });

  it('refuses an empty old_text', () => {
    expect(applyExactEdit('abc', '', 'x')).toEqual({ ok: false, error: expect.stringContaining('write_file') });
  });
});
