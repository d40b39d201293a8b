import type { Snapshot } from '../../../src/projections/snapshot.js';
import { api, ApiError } from '../api.js';
import { byId, h } from '../dom.js';
import { memoryTable } from './memory.js';
import { worklogItems } from './worklog.js';

/**
 * A slider over the log's positions: moving it asks NEXUS for the snapshot exactly as it stood
 * after that position (`/agent/snapshot?at=N`) and shows it beside the live one. The slider's
 * end follows the live position until the operator moves it.
 */
export class TimeTravelView {
  private readonly slider = byId<HTMLInputElement>('time-travel-slider');
  private readonly output = byId<HTMLOutputElement>('time-travel-position');
  private readonly body = byId('time-travel-body');
  private following = true;
  private requested = 0;
  private debounce: number | undefined;

  constructor() {
    this.slider.addEventListener('input', () => {
      this.following = false;
      this.output.value = `#${this.slider.value}`;
      window.clearTimeout(this.debounce);
      this.debounce = window.setTimeout(() => void this.show(Number(this.slider.value)), 150);
    });
    byId('time-travel-live').addEventListener('click', () => {
      this.following = true;
      this.slider.value = this.slider.max;
      this.output.value = 'live';
      this.body.replaceChildren();
    });
  }

  /** The live head moved. */
  extend(position: number): void {
    this.slider.max = String(position);
    if (this.following) this.slider.value = String(position);
  }

  private async show(position: number): Promise<void> {
    const request = ++this.requested;
    try {
      const past = await api<Snapshot>('GET', `/agent/snapshot?at=${position}`);
      if (request === this.requested) this.body.replaceChildren(...this.describe(past));
    } catch (error) {
      if (request === this.requested) this.body.replaceChildren(h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    }
  }

  private describe(past: Snapshot): HTMLElement[] {
    const { status, ...counts } = past.autopilot;
    return [
      h('p', { class: 'past-head', 'data-position': past.position }, `As it stood after event #${past.position}: autopilot ${status}, `,
        Object.entries(counts).map(([name, value]) => `${name.replace('_', ' ')} ${value}`).join(', ')),
      h('h3', {}, `Pending approvals (${past.asks.length})`),
      past.asks.length === 0
        ? h('p', { class: 'muted' }, 'none')
        : h('ul', { class: 'past-asks' }, past.asks.map((ask) => h('li', { 'data-ask-id': ask.ask_id }, `${ask.risk_level} ${ask.command_type}, asked by ${ask.requested_by}`))),
      h('h3', {}, 'Worklog'),
      h('ol', { class: 'worklog past-worklog', reversed: true }, worklogItems(past.worklog.slice(-15))),
      h('h3', {}, 'Memory'),
      memoryTable(past.memory),
    ];
  }
}
