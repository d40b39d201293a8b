import { describe, expect, it } from 'vitest';
import { RequestError } from '../../src/http/errors.js';
import { StreamSlots } from '../../src/http/sse/stream-slots.js';

describe('SSE connection caps', () => {
  it('refuses a stream past the process, tenant or key cap with 429, and a closed stream gives its slot back once', () => {
    const slots = new StreamSlots({ total: 3, perTenant: 2, perKey: 2 });
    const a1 = slots.take('acme/web', 'key-a');
    slots.take('acme/web', 'key-b');
    expect(() => slots.take('acme/web', 'key-c')).toThrow(
      expect.objectContaining({
        status: 429,
        code: 'too_many_streams',
        message: expect.stringContaining('SSE_MAX_CONNECTIONS_PER_TENANT'),
      }),
    );
    slots.take('globex/web', 'key-a');
    expect(() => slots.take('globex/web', 'key-a')).toThrow(/SSE_MAX_CONNECTIONS\b/);
    a1();
    a1();
    expect(slots.open).toBe(2);
    expect(() => slots.take('initech/web', 'key-a')).not.toThrow();
    expect(() => slots.take('initech/web', 'key-a')).toThrow(RequestError);
  });
});
