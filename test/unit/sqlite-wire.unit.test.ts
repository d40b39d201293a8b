import { describe, expect, it } from 'vitest';
import { decodeAppends, encodeAppend } from '../../src/store/sqlite/wire.js';

describe('the writer thread wire', () => {
  it('frames appends so any text comes back as it went, however it looks', () => {
    const appends = [
      {
        tenant: 'acme/web',
        stream: 'command-cmd-1',
        expected: 'no_stream',
        events: [{ event_id: 'e:1', type: 'T', version: 1, data: '{"a":"12:34:x"}', metadata: '{}' }],
      },
      { tenant: 'ü/ñ', stream: 's', expected: 3, events: [] },
      {
        tenant: 'x/y',
        stream: '5:abc',
        expected: 'any',
        events: [
          { event_id: '', type: '9', version: 12, data: '"\\u0000 😀"', metadata: '{"k":""}' },
          { event_id: 'b', type: 'U', version: 2, data: 'null', metadata: '{}' },
        ],
      },
    ];
    expect(decodeAppends(appends.map(encodeAppend).join(''))).toEqual(appends);
    expect(decodeAppends('')).toEqual([]);
  });
});
