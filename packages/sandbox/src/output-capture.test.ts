import { OutputCapture } from './output-capture.js';

describe('OutputCapture', () => {
  it('keeps everything under the limit', () => {
    const capture = new OutputCapture(10);
    capture.push(Buffer.from('abc'));
    capture.push(Buffer.from('def'));
    expect(capture.truncated).toBe(false);
    expect(capture.text()).toBe('abcdef');
  });

  it('keeps the head and notes how much was dropped', () => {
    const capture = new OutputCapture(5);
    capture.push(Buffer.from('abc'));
    capture.push(Buffer.from('defgh'));
    capture.push(Buffer.from('ijk'));
    expect(capture.truncated).toBe(true);
    expect(capture.text()).toBe('abcde\n[output truncated: 6 more bytes after the first 5]\n');
  });
});
