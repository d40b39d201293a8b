import type { Snapshot } from '../../../src/projections/snapshot.js';
import { api, ApiError } from '../api.js';
import { byId, h } from '../dom.js';

/** Status, counts, and pause/resume for admins (recorded by NEXUS, shown when the report comes back). */
export class AutopilotView {
  private readonly body = byId('autopilot-body');
  private readonly status = h('p', { class: 'autopilot-status', id: 'autopilot-status' });
  private readonly counts = h('dl', { class: 'counts' });
  private readonly message = h('p', { class: 'error', role: 'alert' });
  private readonly pause = h(
    'button',
    { type: 'button', id: 'autopilot-pause', onclick: () => this.send('pause') },
    'Pause',
  );
  private readonly resume = h(
    'button',
    { type: 'button', id: 'autopilot-resume', onclick: () => this.send('resume') },
    'Resume',
  );

  constructor(private readonly isAdmin: boolean) {
    const controls = isAdmin
      ? h('p', { class: 'actions' }, this.pause, ' ', this.resume)
      : h('p', { class: 'muted' }, 'Pausing needs an admin key.');
    this.body.replaceChildren(this.status, this.counts, controls, this.message);
  }

  render(snapshot: Snapshot): void {
    const { status, ...counts } = snapshot.autopilot;
    this.status.textContent = status;
    this.status.dataset.status = status;
    this.counts.replaceChildren(
      ...Object.entries(counts).flatMap(([name, value]) => [h('dt', {}, name.replace('_', ' ')), h('dd', {}, value)]),
    );
    // aria-disabled rather than disabled: a disabled button loses the keyboard focus.
    this.pause.setAttribute('aria-disabled', String(status === 'paused'));
    this.resume.setAttribute('aria-disabled', String(status !== 'paused'));
  }

  private send(action: 'pause' | 'resume'): void {
    if ((action === 'pause' ? this.pause : this.resume).getAttribute('aria-disabled') === 'true') return;
    this.message.textContent = '';
    api('POST', '/agent/autopilot', { action }).catch((error: unknown) => {
      this.message.textContent = error instanceof ApiError ? error.message : String(error);
    });
  }
}
