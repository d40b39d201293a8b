import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, SCREENSHOTS } from '../support/browser.js';
import { ADMIN_KEY, API_KEY } from '../support/nexus.js';
import { spawnNexus, type NexusProcess } from '../support/nexus-process.js';
import { SseClient } from '../support/sse-client.js';

// The dashboard in Debian's Chromium against NEXUS as a process (so it can be killed and
// started again on the same port and data). Commands come from outside, with the client key;
// the page is signed in with the admin key, so it may approve what the client asked for.

const tenant = { org_id: 'browser', project_id: 'p' };
const dataDir = mkdtempSync(join(tmpdir(), 'nexus-dashboard-'));
const env = { NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', RETRY_BASE_DELAY_MS: '10', MAX_RETRIES: '1' };
const headers = {
  'content-type': 'application/json',
  'x-api-key': API_KEY,
  'x-org-id': tenant.org_id,
  'x-project-id': tenant.project_id,
};

let nexus: NexusProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const requestedUrls: string[] = [];

interface Accepted {
  readonly correlation_id: string;
  readonly command_id: string;
  readonly ask_id?: string;
}

async function post(command_type: string, params: Record<string, unknown>, correlation_id: string): Promise<Accepted> {
  const response = await fetch(`${nexus.url}/sidecar/command`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ command_type, params, correlation_id }),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as Accepted;
}

const row = (correlationId: string, type: string) =>
  `#feed-list li[data-correlation="${correlationId}"][data-type="${type}"]`;
const askRow = (askId: string) => `#asks-list li[data-ask-id="${askId}"]`;
const positionOf = async (selector: string) => Number(await page.getAttribute(selector, 'data-position'));

/** Every report of the tenant, as the API pages them. */
async function serverPositions(): Promise<number[]> {
  const positions: number[] = [];
  for (let after = 0, more = true; more;) {
    const response = await fetch(`${nexus.url}/agent/reports?after=${after}&limit=1000`, { headers });
    const page = (await response.json()) as {
      reports: Array<{ position: number }>;
      next_after: number;
      has_more: boolean;
    };
    positions.push(...page.reports.map((report) => report.position));
    after = page.next_after;
    more = page.has_more;
  }
  return positions;
}

const shownPositions = () =>
  page.$$eval('#feed-list li.report', (rows) => rows.map((r) => Number(r.getAttribute('data-position'))));

/** Another tenant's work: `commands` echo commands (four events each), all completed. */
async function busyNeighbour(commands: number): Promise<void> {
  const neighbour = { ...headers, 'x-org-id': 'neighbour' };
  const watcher = await SseClient.connect(`${nexus.url}/agent/reports/stream`, neighbour);
  for (let i = 0; i < commands; i++) {
    const response = await fetch(`${nexus.url}/sidecar/command`, {
      method: 'POST',
      headers: neighbour,
      body: JSON.stringify({ command_type: 'echo.test', params: { i } }),
    });
    expect(response.status).toBe(202);
  }
  await watcher.until(
    (c) => c.events.filter((e) => e.event === 'report' && e.data.includes('"task_completed"')).length === commands,
  );
  watcher.close();
}

/** Presses Tab until `isTarget` holds for the focused element: the page used by keyboard alone. */
async function tabTo(isTarget: string, arg: string): Promise<void> {
  for (let presses = 0; presses < 300; presses++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`((el, arg) => ${isTarget})(document.activeElement, ${JSON.stringify(arg)})`)) return;
  }
  throw new Error(`Tab never reached ${isTarget} (${arg})`);
}

beforeAll(async () => {
  nexus = await spawnNexus(env, { testCommands: true });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('request', (request) => requestedUrls.push(request.url()));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await nexus?.kill('SIGTERM');
  console.info(`dashboard screenshots for a person to look at: ${SCREENSHOTS}`);
});

describe('the dashboard in a real browser', () => {
  it('signs in without the key in any URL and shows the snapshot', async () => {
    // Work done before the page opens reaches it through the snapshot, and its reports through
    // the history, even when another tenant has written far more since (positions are shared).
    const watcher = await SseClient.connect(`${nexus.url}/agent/reports/stream`, headers);
    const before = await post('echo.test', { hello: 'snapshot' }, 'before-open');
    await watcher.until((c) =>
      c.events.some(
        (e) => e.event === 'report' && e.data.includes('"task_completed"') && e.data.includes(before.command_id),
      ),
    );
    watcher.close();
    await busyNeighbour(200);

    await page.goto(`${nexus.url}/#org=${tenant.org_id}&project=${tenant.project_id}`);
    await page.waitForSelector('#sign-in-view:not([hidden])');
    await page.fill('#sign-in-key', ADMIN_KEY);
    await page.press('#sign-in-key', 'Enter');
    await page.waitForSelector('#connection[data-state="live"]');

    const snapshot = (await (await fetch(`${nexus.url}/agent/snapshot`, { headers })).json()) as { position: number };
    expect(await page.textContent('#connection')).toBe(`live · #${snapshot.position}`);
    expect(await page.textContent('#worklog-list')).toContain('echo.test completed');
    expect(await page.textContent('#autopilot-status')).toBe('idle');
    expect(await page.textContent('#tenant')).toBe('browser/p · admin');
    await page.waitForSelector(row('before-open', 'task_completed'));

    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'nexus_session', httpOnly: true, sameSite: 'Strict' });
    expect(requestedUrls.some((url) => url.includes(ADMIN_KEY) || url.includes(API_KEY))).toBe(false);
    expect(await page.$eval('#sign-in-key', (input) => (input as unknown as { value: string }).value)).toBe('');
    await screenshot(page, 'dashboard-signed-in-1280');
  });

  it('shows a command posted from outside within a second', async () => {
    const accepted = await post('echo.test', { hello: 'outside' }, 'from-outside');
    await page.waitForSelector(row(accepted.correlation_id, 'command_accepted'), { timeout: 1_000 });
    await page.waitForSelector(row(accepted.correlation_id, 'task_completed'));
  });

  it('approves a RED ask by a click: ask_resolved, then task_completed', async () => {
    const accepted = await post('external_share.prepare', { recipient: 'click@example.com' }, 'red-click');
    const ask = askRow(accepted.ask_id!);
    await page.waitForSelector(`${ask}.risk-RED`);
    expect(JSON.parse((await page.textContent(`${ask} pre.payload`))!)).toMatchObject({
      recipient: 'click@example.com',
    });
    expect(await page.textContent(ask)).toContain('asked by api-key');
    expect(await page.textContent(`${ask} .expiry`)).toMatch(/^expires in 23h 5\dm \d\ds$/);
    await screenshot(page, 'dashboard-red-ask-1280');

    await page.click(`${ask} button.approve`);
    await page.waitForSelector(row('red-click', 'ask_resolved'));
    await page.waitForSelector(row('red-click', 'task_completed'));
    expect(await positionOf(row('red-click', 'ask_resolved'))).toBeLessThan(
      await positionOf(row('red-click', 'task_completed')),
    );
    expect(await page.textContent(row('red-click', 'ask_resolved'))).toContain('approved by admin');
    await page.waitForSelector(ask, { state: 'detached' });
  });

  it('approves and denies with the keyboard alone', async () => {
    const approveMe = await post('external_share.prepare', { recipient: 'keys@example.com' }, 'keyboard-approve');
    const denyMe = await post('external_share.prepare', { recipient: 'nope@example.com' }, 'keyboard-deny');
    await page.waitForSelector(askRow(denyMe.ask_id!));
    await page.focus('body');

    await tabTo(`el.matches('button.approve') && el.closest('li.ask')?.dataset.askId === arg`, approveMe.ask_id!);
    await page.keyboard.press('Enter');
    await page.waitForSelector(row('keyboard-approve', 'task_completed'));
    expect(await page.textContent(row('keyboard-approve', 'ask_resolved'))).toContain('approved by admin');
    await page.waitForSelector(askRow(approveMe.ask_id!), { state: 'detached' });

    // The decided row left; the keyboard is on the next ask, one Tab from its Deny.
    const focused = () =>
      page.evaluate(`[document.activeElement.className, document.activeElement.closest('li.ask')?.dataset.askId]`);
    expect(await focused()).toEqual(['approve', denyMe.ask_id]);
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual(['deny', denyMe.ask_id]);
    await page.keyboard.press('Space');
    await page.waitForSelector(row('keyboard-deny', 'ask_resolved'));
    expect(await page.textContent(row('keyboard-deny', 'ask_resolved'))).toContain('denied by admin');
    await page.waitForSelector(askRow(denyMe.ask_id!), { state: 'detached' });
    expect(await page.$(row('keyboard-deny', 'task_started'))).toBeNull();
  });

  it('filters the feed by correlation id, type and status', async () => {
    await page.fill('#filter-correlation', 'red-click');
    const visible = () =>
      page.$$eval('#feed-list li.report:not([hidden])', (rows) =>
        rows.map((r) => [r.getAttribute('data-correlation'), r.getAttribute('data-type')]),
      );
    expect(new Set((await visible()).map(([correlation]) => correlation))).toEqual(new Set(['red-click']));
    await page.selectOption('#filter-type', 'ask_created');
    expect(await visible()).toEqual([['red-click', 'ask_created']]);
    await page.fill('#filter-correlation', '');
    await page.selectOption('#filter-type', '');
    await page.selectOption('#filter-status', 'warning');
    expect(
      (await visible()).every(([, type]) =>
        ['ask_created', 'ask_resolved', 'risk_warning', 'ask_expiring'].includes(type!),
      ),
    ).toBe(true);
    expect(await visible()).toContainEqual(['keyboard-deny', 'ask_resolved']);
    await page.selectOption('#filter-status', '');
  });

  it('shows an earlier state on the time-travel slider', async () => {
    const accepted = await fetch(`${nexus.url}/audit/approvals?format=json`, { headers }).then(
      (r) => r.json() as Promise<{ approvals: Array<{ ask_id: string; correlation_id: string }> }>,
    );
    const clicked = accepted.approvals.find((a) => a.correlation_id === 'red-click')!;
    const asked = await positionOf(row('red-click', 'ask_created'));
    await page.fill('#time-travel-at', String(asked));
    await page.press('#time-travel-at', 'Enter');
    await page.waitForSelector(`#time-travel-body .past-head[data-position="${asked}"]`);
    expect(await page.$(`#time-travel-body .past-asks li[data-ask-id="${clicked.ask_id}"]`)).not.toBeNull();
    expect(await page.$(askRow(clicked.ask_id))).toBeNull();
    expect(await page.textContent('#time-travel-body')).not.toContain('approved by admin');
    expect(await page.textContent('#time-travel-position')).toBe(`#${asked}`);
    const index = Number(
      await page.$eval('#time-travel-slider', (slider) => (slider as unknown as { value: string }).value),
    );
    expect([...(await shownPositions())].sort((a, b) => a - b)[index]).toBe(asked);
    await screenshot(page, 'dashboard-time-travel-1280');

    // The slider walks this tenant's own events: Home is the first one the page holds.
    const first = Math.min(...(await shownPositions()));
    await page.focus('#time-travel-slider');
    await page.keyboard.press('Home');
    await page.waitForSelector(`#time-travel-body .past-head[data-position="${first}"]`);
    expect(await page.$$eval('#time-travel-body .past-worklog li', (items) => items.length)).toBe(1);
    await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#time-travel-position')).toBe(
      `#${[...(await shownPositions())].sort((a, b) => a - b)[1]}`,
    );
    await page.click('#time-travel-live');
    expect(await page.textContent('#time-travel-body')).toBe('');
  });

  it('shows the RED approval audit when asked', async () => {
    await page.click('#audit-load');
    await page.waitForSelector('#audit-body table.audit');
    expect(await page.$$eval('#audit-body tbody tr', (rows) => rows.map((r) => r.children[3]!.textContent))).toEqual([
      'denied',
      'approved',
      'approved',
    ]);
  });

  it('offers no decision on an ask its own principal requested (APPROVAL_FOUR_EYES=named)', async () => {
    const response = await fetch(`${nexus.url}/sidecar/command`, {
      method: 'POST',
      headers: { ...headers, 'x-api-key': ADMIN_KEY },
      body: JSON.stringify({
        command_type: 'external_share.prepare',
        params: { recipient: 'own@example.com' },
        correlation_id: 'own-request',
      }),
    });
    const own = (await response.json()) as Accepted;
    await page.waitForSelector(`${askRow(own.ask_id!)} .barred`);
    expect(await page.$$(`${askRow(own.ask_id!)} button`)).toHaveLength(0);
    expect(await page.textContent(`${askRow(own.ask_id!)} .barred`)).toContain('four eyes');
    // Someone else decides it; the row leaves.
    const denied = await fetch(`${nexus.url}/approvals/${own.ask_id}/decide`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ decision: 'deny' }),
    });
    expect(denied.status).toBe(202);
    await page.waitForSelector(askRow(own.ask_id!), { state: 'detached' });
  });

  it('pauses and resumes the autopilot, and discards a held task (admin controls)', async () => {
    await page.click('#autopilot-pause');
    await page.waitForSelector('#autopilot-status[data-status="paused"]');
    const waiting = await post('echo.test', { hello: 'paused' }, 'while-paused');
    await page.waitForSelector(row(waiting.correlation_id, 'command_accepted'));
    expect(await page.$(row(waiting.correlation_id, 'task_started'))).toBeNull();
    await page.click('#autopilot-resume');
    await page.waitForSelector(row(waiting.correlation_id, 'task_completed'));

    // SCHEMA_PARSE_ERROR is held for a person (AUTO_HOLD_FAILURE_CODES).
    const failing = await post('test.fail', { code: 'SCHEMA_PARSE_ERROR' }, 'held');
    const letter = `#dead-letters-list li[data-command-id="${failing.command_id}"]`;
    await page.waitForSelector(`${letter} .triage:text("hold")`);
    await screenshot(page, 'dashboard-held-task-1280');
    await page.click(`${letter} button.deny`);
    // The discard is its own request, with its own correlation id; the command id ties it.
    await page.waitForSelector(`#feed-list li[data-command="${failing.command_id}"][data-type="task_discarded"]`);
    await page.waitForSelector(letter, { state: 'detached' });
  });

  it('recovers from a restart of NEXUS without reloading, with no duplicate and no missing row', async () => {
    await page.evaluate('window.loadedOnce = true');
    const port = Number(new URL(nexus.url).port);
    await nexus.kill('SIGKILL');
    await page.waitForSelector('#connection[data-state="reconnecting"]');
    await screenshot(page, 'dashboard-reconnecting-1280');

    // Keep the page away while NEXUS, back on the same port and data, records work: the page
    // must then fetch exactly what it missed.
    await page.route('**/agent/reports/stream*', (route) => route.abort());
    nexus = await spawnNexus(env, { port, testCommands: true });
    const watcher = await SseClient.connect(`${nexus.url}/agent/reports/stream`, headers);
    const missed = await post('echo.test', { hello: 'while away' }, 'while-away');
    await watcher.until((c) =>
      c.events.some(
        (e) => e.event === 'report' && e.data.includes('"task_completed"') && e.data.includes(missed.command_id),
      ),
    );
    watcher.close();
    expect(await page.$(row('while-away', 'command_accepted'))).toBeNull();
    await page.unroute('**/agent/reports/stream*');

    await page.waitForSelector('#connection[data-state="live"]');
    await page.waitForSelector(row('while-away', 'task_completed'));
    const after = await post('echo.test', { hello: 'after restart' }, 'after-restart');
    await page.waitForSelector(row(after.correlation_id, 'task_completed'));

    expect(await page.evaluate('window.loadedOnce')).toBe(true);
    // What the page folded is what NEXUS would say now.
    const server = (await (await fetch(`${nexus.url}/agent/snapshot`, { headers })).json()) as {
      autopilot: Record<string, unknown>;
      asks: Array<{ ask_id: string }>;
      position: number;
    };
    const counts = await page.$$eval('#autopilot-body dd', (values) => values.map((v) => Number(v.textContent)));
    expect(counts).toEqual([
      server.autopilot.queued,
      server.autopilot.running,
      server.autopilot.awaiting_approval,
      server.autopilot.dead_lettered,
    ]);
    expect(await page.$$eval('#asks-list li.ask', (rows) => rows.map((r) => r.getAttribute('data-ask-id')))).toEqual(
      server.asks.map((a) => a.ask_id),
    );
    const shown = await shownPositions();
    expect(new Set(shown).size).toBe(shown.length);
    expect([...shown].sort((a, b) => a - b)).toEqual(await serverPositions());
  });

  it('holds its layout at 1280 px and at 390 px wide', async () => {
    const red = await post('external_share.prepare', { recipient: 'layout@example.com', files: [] }, 'layout');
    await page.waitForSelector(askRow(red.ask_id!));
    // The page's width, and the controls that stick out of it (tables scroll inside their cards).
    const overflow = (width: number) =>
      page.evaluate(`({
        page: document.documentElement.scrollWidth,
        controls: [...document.querySelectorAll('button, input, select, h2')]
          .filter((el) => el.offsetParent !== null && !el.closest('.scroll'))
          .filter((el) => el.getBoundingClientRect().right > ${width} + 0.5 || el.getBoundingClientRect().left < 0)
          .map((el) => el.outerHTML.slice(0, 80)),
      })`);

    expect(await overflow(1280)).toEqual({ page: 1280, controls: [] });
    const top = async (id: string) => await page.$eval(id, (el) => el.getBoundingClientRect().top);
    expect(await top('#autopilot')).toBe(await top('#chart'));
    await screenshot(page, 'dashboard-1280');

    await page.setViewportSize({ width: 390, height: 844 });
    // A function, not a string: the page's CSP forbids eval, which a string predicate needs.
    await page.waitForFunction((width) => (globalThis as unknown as { innerWidth: number }).innerWidth === width, 390);
    expect(await overflow(390)).toEqual({ page: 390, controls: [] });
    const card = async (id: string) =>
      page.$eval(id, (el) => ({ left: el.getBoundingClientRect().left, top: el.getBoundingClientRect().top }));
    expect((await card('#chart')).top).toBeGreaterThan((await card('#autopilot')).top);
    await screenshot(page, 'dashboard-390');
    await page.click(`${askRow(red.ask_id!)} button.deny`);
    await page.waitForSelector(row('layout', 'ask_resolved'));
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('goes on working when a second tab signs in again, and never acts for a tenant another tab switched to', async () => {
    const second = await context.newPage();
    const signInThere = async (org: string) => {
      await second.click('#sign-out');
      await second.waitForSelector('#sign-in-view:not([hidden])');
      await second.fill('#sign-in-key', ADMIN_KEY);
      await second.fill('#sign-in-org', org);
      await second.fill('#sign-in-project', tenant.project_id);
      await second.press('#sign-in-key', 'Enter');
      await second.waitForSelector('#connection[data-state="live"]');
    };
    await second.goto(`${nexus.url}/dashboard`);
    await second.waitForSelector('#connection[data-state="live"]');
    await signInThere(tenant.org_id);

    // The same principal and tenant: the first tab picks up the new CSRF token and goes on.
    const red = await post('external_share.prepare', { recipient: 'tabs@example.com' }, 'two-tabs');
    await page.click(`${askRow(red.ask_id!)} button.approve`);
    await page.waitForSelector(row('two-tabs', 'task_completed'));
    await second.waitForSelector(row('two-tabs', 'task_completed'));

    // Another tenant: the first tab, still showing browser/p, must not pause either tenant; it
    // starts over as what the browser is now signed in to.
    await signInThere('neighbour');
    await page.click('#autopilot-pause');
    await page.waitForSelector('#tenant:text-is("neighbour/p · admin")');
    await page.waitForSelector('#connection[data-state="live"]');
    const neighbour = (await (
      await fetch(`${nexus.url}/agent/snapshot`, { headers: { ...headers, 'x-org-id': 'neighbour' } })
    ).json()) as { autopilot: { status: string } };
    expect(neighbour.autopilot.status).not.toBe('paused');
    const own = (await (await fetch(`${nexus.url}/agent/snapshot`, { headers })).json()) as {
      autopilot: { status: string };
    };
    expect(own.autopilot.status).not.toBe('paused');
    await second.close();
  });

  it('signs out and into another tenant with nothing of the first left on screen', async () => {
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in-view:not([hidden])');
    expect(await page.$$('#feed-list li')).toHaveLength(0);
    await page.fill('#sign-in-key', ADMIN_KEY);
    await page.fill('#sign-in-org', 'neighbour');
    await page.fill('#sign-in-project', tenant.project_id);
    await page.press('#sign-in-key', 'Enter');
    await page.waitForSelector('#connection[data-state="live"]');
    expect(await page.textContent('#tenant')).toBe('neighbour/p · admin');
    await page.waitForSelector('#feed-list li.report');
    expect(
      await page.$$eval(
        '#feed-list li.report',
        (rows) =>
          rows.filter((r) => r.getAttribute('data-correlation')!.match(/^(before-open|red-click|layout|two-tabs)$/))
            .length,
      ),
    ).toBe(0);
    expect(await page.$$('#asks-list li')).toHaveLength(0);
  });
});
