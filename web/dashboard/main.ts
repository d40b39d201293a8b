import type { Report } from '../../src/projections/report-feed.js';
import type { Snapshot } from '../../src/projections/snapshot.js';
import { api } from './api.js';
import { byId } from './dom.js';
import { FEED_KEEP, Model } from './model.js';
import { currentSession, signIn, signOut, type SessionInfo } from './session.js';
import { ReportStream, type ConnectionState } from './stream.js';
import { AsksView } from './views/asks.js';
import { AuditView } from './views/audit.js';
import { AutopilotView } from './views/autopilot.js';
import { ChartView } from './views/chart.js';
import { DeadLettersView } from './views/dead-letters.js';
import { renderExecutors } from './views/executors.js';
import { FeedView } from './views/feed.js';
import { renderMemory } from './views/memory.js';
import { TimeTravelView } from './views/time-travel.js';
import { renderWorklog } from './views/worklog.js';

/** Reports of history shown in the feed and chart when the page opens. */
const HISTORY = 500;
const NOTICE = 'nexus-notice';

const connection = byId('connection');

function showConnection(state: ConnectionState | 'signed-out', text: string): void {
  connection.dataset.state = state;
  connection.textContent = text;
}

function showSignIn(): void {
  byId('dashboard').hidden = true;
  byId('sign-out').hidden = true;
  byId('sign-in-view').hidden = false;
  byId('sign-in-error').textContent = sessionStorage.getItem(NOTICE) ?? '';
  sessionStorage.removeItem(NOTICE);
  showConnection('signed-out', 'signed out');
  const given = new URLSearchParams(location.hash.slice(1));
  for (const [field, name] of [
    ['org', 'sign-in-org'],
    ['project', 'sign-in-project'],
  ] as const) {
    const value = given.get(field);
    if (value) byId<HTMLInputElement>(name).value = value;
  }
  byId<HTMLInputElement>('sign-in-key').focus();
}

/** The signed-in page: every view fed by one report stream. */
function start(session: SessionInfo): void {
  byId('sign-in-view').hidden = true;
  byId('dashboard').hidden = false;
  byId('sign-out').hidden = false;
  byId('tenant').textContent = `${session.org_id}/${session.project_id} · ${session.principal.id}`;
  const isAdmin = session.principal.roles.includes('admin');
  const model = new Model();
  const autopilot = new AutopilotView(isAdmin);
  const asks = new AsksView(session);
  const feed = new FeedView(FEED_KEEP);
  const deadLetters = new DeadLettersView(isAdmin);
  const timeTravel = new TimeTravelView();
  const chart = new ChartView();
  new AuditView();

  let scheduled = false;
  const render = () => {
    scheduled = false;
    const view = model.view();
    if (!view) return;
    autopilot.render(view);
    asks.render(view.asks);
    renderWorklog(view.worklog);
    renderMemory(view.memory);
    renderExecutors(view.sidecar);
    deadLetters.render(view.dead_letters);
    timeTravel.extend([...model.reports.keys()].sort((a, b) => a - b));
    chart.render();
    if (connection.dataset.state === 'live') showConnection('live', `live · #${view.position}`);
  };
  // Many reports in a burst make one render.
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    if (document.hidden) window.setTimeout(render, 250);
    else window.requestAnimationFrame(render);
  };
  const show = (report: Report) => {
    feed.add(report);
    chart.add(report);
  };

  let history = false;
  const stream = new ReportStream({
    snapshot: (snapshot) => {
      // The cookie is shared by every tab: another may have signed in to another tenant.
      if (snapshot.org_id !== session.org_id || snapshot.project_id !== session.project_id) {
        stream.stop();
        signedOut('This browser signed in elsewhere to another tenant; sign in again here.');
        return;
      }
      model.takeSnapshot(snapshot);
      schedule();
      if (history) return;
      history = true;
      void loadHistory(snapshot).then((reports) => {
        for (const report of reports) if (model.addReport(report)) show(report);
        schedule();
      });
    },
    report: (report) => {
      if (model.takeReport(report)) show(report);
      schedule();
    },
    state: (state, { retryInMs, lastEventId }) => {
      const after = lastEventId === undefined ? '' : ` after #${lastEventId}`;
      if (state === 'live') showConnection('live', `live · #${lastEventId ?? 0}`);
      else if (retryInMs !== undefined)
        showConnection(state, `disconnected; retrying in ${(retryInMs / 1000).toFixed(1)} s${after}`);
      else showConnection(state, `${state}…${after}`);
    },
    unauthorized: () => {
      stream.stop();
      signedOut('Your session has ended; sign in again.');
    },
  });
  stream.start();
  // The chart's time axis moves on its own.
  window.setInterval(() => chart.render(), 5_000);
  byId('sign-out').onclick = () => {
    stream.stop();
    void signOut().finally(() => location.reload());
  };
}

/** A fresh page for the next sign-in: nothing of this session's state stays on screen. */
function signedOut(notice: string): void {
  sessionStorage.setItem(NOTICE, notice);
  location.reload();
}

const lost = () => signedOut('Your session has ended; sign in again.');

/**
 * This tenant's latest reports up to the snapshot (at most HISTORY). Positions are shared by
 * every tenant, so the window starts at the oldest worklog line the snapshot holds, not at a
 * position count, and is read forward a page at a time.
 */
async function loadHistory(snapshot: Snapshot): Promise<Report[]> {
  let reports: Report[] = [];
  let after = Math.max(0, (snapshot.worklog[0]?.position ?? 1) - 1);
  try {
    for (let pages = 0; pages < 10; pages++) {
      const page = await api<{ reports: Report[]; next_after: number; has_more: boolean }>(
        'GET',
        `/agent/reports?after=${after}&up_to=${snapshot.position}&limit=1000`,
      );
      reports = [...reports, ...page.reports].slice(-HISTORY);
      if (!page.has_more) break;
      after = page.next_after;
    }
  } catch {
    // History is a convenience: the live state does not depend on it.
  }
  return reports;
}

byId<HTMLFormElement>('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = byId<HTMLInputElement>('sign-in-key');
  const org = byId<HTMLInputElement>('sign-in-org').value.trim();
  const project = byId<HTMLInputElement>('sign-in-project').value.trim();
  signIn(key.value, org, project, lost).then(
    (session) => {
      key.value = '';
      start(session);
    },
    (error: unknown) => {
      byId('sign-in-error').textContent = error instanceof Error ? error.message : String(error);
    },
  );
});

void currentSession(lost).then((session) => (session ? start(session) : showSignIn()));
