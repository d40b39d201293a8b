import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/app-env.js';
import { errorHandler } from '../../src/http/errors.js';
import { ReadBudget, oneAtATime } from '../../src/http/middleware/expensive-reads.js';
import { createLogger } from '../../src/observability/logger.js';

/** A read that takes until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function app(guard: ReadBudget['refusing']) {
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
    const { router, release } = app(new ReadBudget({ perKey: 2, msPerSecond: 1000 }).refusing);
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

  it('charges each key the time its reads take: past EXPENSIVE_READ_MS_PER_SECOND they wait (429), then it earns time back', async () => {
    let clock = 0;
    const router = new Hono<AppEnv>();
    router.onError(errorHandler(createLogger({ level: 'silent' })));
    router.use(async (c, next) => {
      c.set('key_fingerprint', 'a');
      await next();
    });
    // Each read takes 300 ms by the clock.
    router.get(
      '/read',
      new ReadBudget({ perKey: 2, msPerSecond: 200, now: () => clock }).refusing,
      async (c) => ((clock += 300), c.json({ ok: true })),
    );
    expect((await router.request('/read')).status).toBe(200);
    const spent = await router.request('/read');
    expect(spent.status).toBe(429);
    expect(await spent.json()).toMatchObject({
      error: { code: 'too_many_expensive_reads', message: expect.stringContaining('EXPENSIVE_READ_MS_PER_SECOND') },
    });
    expect(Number(spent.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    clock += 600;
    expect((await router.request('/read')).status).toBe(200);
  });

  it('makes a resumed stream wait for its turn instead of refusing it', async () => {
    const { router, release } = app(new ReadBudget({ perKey: 1, msPerSecond: 1000 }).waiting);
    const first = router.request('/read', { headers: { 'x-key': 'a' } });
    const second = router.request('/read', { headers: { 'x-key': 'a' } });
    release();
    expect((await Promise.all([first, second])).map((r) => r.status)).toEqual([200, 200]);
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
