import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/app-env.js';
import { errorHandler } from '../../src/http/errors.js';
import { expensiveReads, oneAtATime } from '../../src/http/middleware/expensive-reads.js';
import { createLogger } from '../../src/logger.js';

/** A read that takes until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function app(guard: ReturnType<typeof expensiveReads>) {
  const gates: Array<ReturnType<typeof gate>> = [];
  const state = { released: false };
  const router = new Hono<AppEnv>();
  router.onError(errorHandler(createLogger({ level: 'silent' })));
  router.use(async (c, next) => {
    c.set('key_fingerprint', c.req.header('x-key') ?? 'none');
    await next();
  });
  router.get('/read', guard, async (c) => {
    if (!state.released) {
      const held = gate();
      gates.push(held);
      await held.opened;
    }
    return c.json({ ok: true });
  });
  /** Lets every read held so far go, and every later one through at once. */
  const release = () => {
    state.released = true;
    for (const held of gates) held.open();
  };
  return { router, release };
}

describe('expensive reads', () => {
  it('lets each key run at most EXPENSIVE_READS_PER_KEY at once: more get 429 with Retry-After, other keys are not held back', async () => {
    const { router, release } = app(expensiveReads({ perKey: 2 }));
    const first = router.request('/read', { headers: { 'x-key': 'a' } });
    const second = router.request('/read', { headers: { 'x-key': 'a' } });
    const refused = await router.request('/read', { headers: { 'x-key': 'a' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 'too_many_expensive_reads' } });
    const other = router.request('/read', { headers: { 'x-key': 'b' } });
    release();
    expect((await Promise.all([first, second, other])).map((r) => r.status)).toEqual([200, 200, 200]);
    // Done, they make room.
    expect((await router.request('/read', { headers: { 'x-key': 'a' } })).status).toBe(200);
  });

  it('runs a chain verification one at a time in the process', async () => {
    const router = new Hono<AppEnv>();
    router.onError(errorHandler(createLogger({ level: 'silent' })));
    const held = gate();
    router.get('/verify', oneAtATime('verification'), async (c) => (await held.opened, c.json({ ok: true })));
    const first = router.request('/verify');
    expect((await router.request('/verify')).status).toBe(429);
    held.open();
    expect((await first).status).toBe(200);
    expect((await router.request('/verify')).status).toBe(200);
  });
});
