import { barsRequester } from '../../../src/commands/four-eyes.js';
import type { PendingAsk } from '../../../src/projections/snapshot.js';
import { api, ApiError } from '../api.js';
import type { SessionInfo } from '../session.js';
import { byId, countdown, h, json, time } from '../dom.js';

/**
 * Pending asks, one row each, kept across renders (keyed by ask id) so that focus, a half-typed
 * reason and the countdowns survive every report. A decision is only sent here: the row leaves
 * when the stream reports the ask resolved.
 */
export class AsksView {
  private readonly list = byId<HTMLUListElement>('asks-list');
  private readonly empty = byId('asks-empty');
  private readonly heading = byId('asks-title');
  private readonly rows = new Map<string, HTMLLIElement>();

  constructor(private readonly session: SessionInfo) {
    window.setInterval(() => this.tick(), 1000);
  }

  /** Why this page's principal may not decide `ask`, or undefined when it may. */
  private barred(ask: PendingAsk): string | undefined {
    const { principal, four_eyes } = this.session;
    if (!principal.roles.includes('approver')) return 'Deciding needs an approver key.';
    if (barsRequester(four_eyes, principal, ask.requested_by))
      return 'You requested this: someone else decides it (four eyes).';
    return undefined;
  }

  render(asks: readonly PendingAsk[]): void {
    const pending = new Set(asks.map((ask) => ask.ask_id));
    for (const [id, row] of this.rows) {
      if (pending.has(id)) continue;
      const hadFocus = row.contains(document.activeElement);
      const next = (row.nextElementSibling ?? row.previousElementSibling) as HTMLElement | null;
      row.remove();
      this.rows.delete(id);
      if (hadFocus) (next?.querySelector<HTMLElement>('button') ?? this.heading).focus();
    }
    for (const ask of asks) if (!this.rows.has(ask.ask_id)) this.list.append(this.row(ask));
    this.empty.hidden = asks.length > 0;
    this.tick();
  }

  private row(ask: PendingAsk): HTMLLIElement {
    const message = h('p', { class: 'ask-message', role: 'status' });
    const reason = h('input', {
      type: 'text',
      class: 'reason',
      placeholder: 'reason (optional)',
      'aria-label': `Reason for the decision on ${ask.command_type}`,
      maxlength: 2000,
    });
    // aria-disabled rather than disabled: a disabled button loses the keyboard focus.
    const busy = (on: boolean) => buttons.forEach((button) => button.setAttribute('aria-disabled', String(on)));
    const decide = (decision: 'approve' | 'deny') => () => {
      if (buttons[0]!.getAttribute('aria-disabled') === 'true') return;
      busy(true);
      message.textContent = `sending ${decision}…`;
      const body = reason.value.trim() === '' ? { decision } : { decision, reason: reason.value.trim() };
      api('POST', `/approvals/${encodeURIComponent(ask.ask_id)}/decide`, body).then(
        () =>
          (message.textContent = `${decision === 'approve' ? 'approval' : 'denial'} recorded; waiting for the report`),
        (error: unknown) => {
          message.textContent = error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
          busy(false);
        },
      );
    };
    const label = `${ask.command_type} (${ask.risk_level}) asked by ${ask.requested_by}`;
    const barred = this.barred(ask);
    const buttons = [
      h(
        'button',
        { type: 'button', class: 'approve', 'aria-label': `Approve ${label}`, onclick: decide('approve') },
        'Approve',
      ),
      h('button', { type: 'button', class: 'deny', 'aria-label': `Deny ${label}`, onclick: decide('deny') }, 'Deny'),
    ];
    const row = h(
      'li',
      { class: `ask risk-${ask.risk_level}`, 'data-ask-id': ask.ask_id, 'data-risk': ask.risk_level },
      h(
        'div',
        { class: 'ask-head' },
        h('span', { class: `badge risk-${ask.risk_level}` }, ask.risk_level),
        h('strong', {}, ask.command_type),
        h('span', { class: 'muted' }, `asked by ${ask.requested_by} at ${time(ask.created_at)}`),
        h('span', { class: 'expiry', 'data-expires': ask.expires_at, title: `expires at ${ask.expires_at}` }),
      ),
      h('p', {}, ask.description),
      h(
        'details',
        { open: true },
        h('summary', {}, 'Exact payload (approval is bound to its hash)'),
        h('pre', { class: 'payload' }, json(ask.payload)),
        h('p', { class: 'muted hash' }, `sha-256 ${ask.payload_hash}`),
      ),
      barred === undefined
        ? h('div', { class: 'actions' }, reason, ...buttons)
        : h('p', { class: 'muted barred' }, barred),
      message,
    );
    this.rows.set(ask.ask_id, row);
    return row;
  }

  private tick(): void {
    const now = Date.now();
    for (const row of this.rows.values()) {
      const expiry = row.querySelector<HTMLElement>('.expiry')!;
      const left = countdown(expiry.dataset.expires!, now);
      expiry.textContent = left === 'expired' ? 'expired' : `expires in ${left}`;
      expiry.classList.toggle('soon', Date.parse(expiry.dataset.expires!) - now < 5 * 60_000);
    }
  }
}
