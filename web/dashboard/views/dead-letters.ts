import type { DeadLetter } from '../../../src/projections/held-tasks.js';
import { api, ApiError } from '../api.js';
import { byId, h, time } from '../dom.js';

/**
 * Dead-lettered tasks, held ones first, keyed by command id so focus survives renders. Admins
 * requeue or discard; the row leaves when the stream reports it.
 */
export class DeadLettersView {
  private readonly list = byId<HTMLUListElement>('dead-letters-list');
  private readonly empty = byId('dead-letters-empty');
  private readonly rows = new Map<string, { row: HTMLLIElement; triage: HTMLElement }>();

  constructor(private readonly isAdmin: boolean) {}

  render(letters: readonly DeadLetter[]): void {
    const present = new Set(letters.map((letter) => letter.command_id));
    for (const [id, { row }] of this.rows) {
      if (present.has(id)) continue;
      row.remove();
      this.rows.delete(id);
    }
    for (const letter of letters) {
      const known = this.rows.get(letter.command_id);
      if (known) known.triage.textContent = letter.triage;
      else this.list.append(this.row(letter));
    }
    this.empty.hidden = letters.length > 0;
  }

  private row(letter: DeadLetter): HTMLLIElement {
    const message = h('p', { class: 'error', role: 'alert' });
    const act = (action: 'requeue' | 'discard') => () => {
      message.textContent = '';
      api('POST', `/admin/tasks/${encodeURIComponent(letter.command_id)}/${action}`, {}).catch((error: unknown) => {
        message.textContent = error instanceof ApiError ? error.message : String(error);
      });
    };
    const triage = h('span', { class: 'badge triage' }, letter.triage);
    const actions = this.isAdmin
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: act('requeue') }, 'Requeue'),
          h('button', { type: 'button', class: 'deny', onclick: act('discard') }, 'Discard'),
        )
      : h('p', { class: 'muted' }, 'Requeue and discard need an admin key.');
    const row = h(
      'li',
      { class: 'letter', 'data-command-id': letter.command_id },
      h(
        'div',
        {},
        triage,
        ' ',
        h('strong', {}, letter.command_type),
        ' ',
        h('span', { class: 'muted' }, `after ${letter.attempts} attempts, ${time(letter.dead_lettered_at)}`),
      ),
      h('p', {}, `${letter.error.code}: ${letter.error.message}`),
      actions,
      message,
    );
    this.rows.set(letter.command_id, { row, triage });
    return row;
  }
}
