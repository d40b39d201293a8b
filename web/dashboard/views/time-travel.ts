import type { Snapshot } from '../../../src/projections/snapshot.js';
import { api, ApiError } from '../api.js';
import { byId, h } from '../dom.js';
import { memoryTable } from './memory.js';
import { worklogItems } from './worklog.js';

/**
 * A slider over this tenant's events the page knows (the feed's positions; the log's positions
 * are shared by every tenant), and a field for any position: moving either asks NEXUS for the
 * snapshot exactly as it stood after that position (`/agent/snapshot?at=N`) and shows it beside
 * the live one. The slider's end follows the live position until the operator moves it.
 */
export class TimeTravelView {
  private readonly slider = byId<HTMLInputElement>('time-travel-slider');
  private readonly output = byId<HTMLOutputElement>('time-travel-position');
  private readonly at = byId<HTMLInputElement>('time-travel-at');
  private readonly body = byId('time-travel-body');
  private positions: readonly number[] = [];
  /** The position shown; undefined while following the live end. */
  private chosen: number | undefined;
  private requested = 0;
  private debounce: number | undefined;

  constructor() {
    this.slider.addEventListener('input', () => {
      const position = this.positions[Number(this.slider.value)];
      if (position !== undefined) this.choose(position);
    });
    this.at.addEventListener('change', () => {
      if (this.at.value !== '' && Number.isInteger(Number(this.at.value))) this.choose(Number(this.at.value));
    });
    byId('time-travel-live').addEventListener('click', () => {
      this.chosen = undefined;
      this.slider.value = this.slider.max;
      this.output.value = 'live';
      this.at.value = '';
      this.body.replaceChildren();
    });
  }

  /** The positions known to the page, oldest first. */
  extend(positions: readonly number[]): void {
    this.positions = positions;
    this.slider.max = String(Math.max(0, positions.length - 1));
    this.place();
  }

  /** The slider at the chosen position (the last known one at or before it), or at the end. */
  private place(): void {
    const index =
      this.chosen === undefined ? this.positions.length - 1 : this.positions.findLastIndex((p) => p <= this.chosen!);
    this.slider.value = String(Math.max(0, index));
  }

  private choose(position: number): void {
    this.chosen = position;
    this.output.value = `#${position}`;
    this.at.value = String(position);
    this.place();
    window.clearTimeout(this.debounce);
    this.debounce = window.setTimeout(() => void this.show(position), 150);
  }

  private async show(position: number): Promise<void> {
    const request = ++this.requested;
    try {
      const past = await api<Snapshot>('GET', `/agent/snapshot?at=${position}`);
      if (request === this.requested) this.body.replaceChildren(...this.describe(past));
    } catch (error) {
      if (request === this.requested)
        this.body.replaceChildren(
          h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)),
        );
    }
  }

  private describe(past: Snapshot): HTMLElement[] {
    const { status, ...counts } = past.autopilot;
    return [
      h(
        'p',
        { class: 'past-head', 'data-position': past.position },
        `As it stood after event #${past.position}: autopilot ${status}, `,
        Object.entries(counts)
          .map(([name, value]) => `${name.replace('_', ' ')} ${value}`)
          .join(', '),
      ),
      h('h3', {}, `Pending approvals (${past.asks.length})`),
      past.asks.length === 0
        ? h('p', { class: 'muted' }, 'none')
        : h(
            'ul',
            { class: 'past-asks' },
            past.asks.map((ask) =>
              h(
                'li',
                { 'data-ask-id': ask.ask_id },
                `${ask.risk_level} ${ask.command_type}, asked by ${ask.requested_by}`,
              ),
            ),
          ),
      h('h3', {}, 'Worklog'),
      h('ol', { class: 'worklog past-worklog', reversed: true }, worklogItems(past.worklog.slice(-15))),
      h('h3', {}, 'Memory'),
      memoryTable(past.memory),
    ];
  }
}
