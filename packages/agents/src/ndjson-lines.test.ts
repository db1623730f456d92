import { NdjsonLines } from './ndjson-lines.js';

describe('NdjsonLines', () => {
  it('emits each line as soon as it ends, whatever the chunking', () => {
    const lines: string[] = [];
    const s = new NdjsonLines((l) => lines.push(l));
    s.push('{"a":');
    expect(lines).toEqual([]);
    s.push('1}\n{"b"');
    expect(lines).toEqual(['{"a":1}']);
    s.push(':2}\r\n\n  \n{"c":3}\n{"d":4}');
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  });

  it('handles one character at a time', () => {
    const lines: string[] = [];
    const s = new NdjsonLines((l) => lines.push(l));
    for (const ch of 'x\ny\n') s.push(ch);
    s.end();
    expect(lines).toEqual(['x', 'y']);
  });
});
