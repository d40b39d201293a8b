import type { ApprovalRecord } from '../../../src/projections/approval-audit.js';
import { api, ApiError } from '../api.js';
import { byId, h, time } from '../dom.js';

interface Page {
  readonly approvals: readonly ApprovalRecord[];
  readonly next_after: number;
  readonly has_more: boolean;
}

const SHOWN = 200;

/**
 * The audit of RED approvals: history, read when the operator asks for it (it is not live
 * state), newest first — who asked, who decided, why, and what ran.
 */
export class AuditView {
  private readonly body = byId('audit-body');

  constructor() {
    byId('audit-load').addEventListener('click', () => void this.load());
  }

  private async load(): Promise<void> {
    this.body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      let records: ApprovalRecord[] = [];
      for (let after = 0, more = true; more;) {
        const page = await api<Page>('GET', `/audit/approvals?format=json&limit=500&after=${after}`);
        records = [...records, ...page.approvals].slice(-SHOWN);
        after = page.next_after;
        more = page.has_more;
      }
      this.body.replaceChildren(this.table(records.reverse()));
    } catch (error) {
      this.body.replaceChildren(h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    }
  }

  private table(records: readonly ApprovalRecord[]): HTMLElement {
    if (records.length === 0) return h('p', { class: 'muted' }, 'No RED command has asked for approval yet.');
    const columns = ['Asked', 'Command', 'Asked by', 'Decision', 'Decided by', 'Reason', 'Run'];
    return h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'audit' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            columns.map((name) => h('th', { scope: 'col' }, name)),
          ),
        ),
        h(
          'tbody',
          {},
          records.map((record) =>
            h(
              'tr',
              { 'data-ask-id': record.ask_id },
              h('td', {}, time(record.requested_at)),
              h('td', { title: `payload sha-256 ${record.payload_hash}` }, record.command_type),
              h('td', {}, record.requested_by),
              h('td', { class: `decision-${record.status}` }, record.status),
              h('td', {}, record.decided_by ?? ''),
              h('td', {}, record.reason ?? ''),
              h('td', {}, record.run ? `${record.run.status} (${record.run.attempts} attempts)` : ''),
            ),
          ),
        ),
      ),
    );
  }
}
