import { OutputTail } from './output-tail.js';

describe('OutputTail', () => {
  it('keeps everything under the limit', () => {
    const tail = new OutputTail(10);
    tail.push('abc');
    tail.push('def');
    expect(tail.toString()).toBe('abcdef');
  });

  it('keeps the last characters of a long stream, marked as cut', () => {
    const tail = new OutputTail(5);
    for (let i = 0; i < 1000; i++) tail.push(`line ${i}\n`);
    expect(tail.toString()).toBe('… 999\n');
  });
});
