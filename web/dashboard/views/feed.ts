import type { Report } from '../../../src/projections/report-feed.js';
import { byId, h, time } from '../dom.js';

type ReportStatus = 'ok' | 'warning' | 'error';

const ERRORS = new Set(['task_failed', 'task_dead_lettered', 'alarm_raised']);
const WARNINGS = new Set([
  'risk_warning',
  'ask_created',
  'ask_expiring',
  'task_retrying',
  'dlq_triaged',
  'task_discarded',
]);

/** How a report reads at a glance: the status filter and the row colour. */
function statusOf(report: Report): ReportStatus {
  const { payload } = report;
  if (ERRORS.has(report.report_type) || (report.report_type === 'llm_call' && payload.outcome !== 'ok')) return 'error';
  if (WARNINGS.has(report.report_type)) return 'warning';
  if (report.report_type === 'ask_resolved' && payload.decision !== 'approved') return 'warning';
  if (report.report_type === 'autopilot_changed' && payload.status === 'paused') return 'warning';
  if (report.report_type === 'llm_breaker_changed' && payload.change === 'opened') return 'warning';
  return 'ok';
}

function summary(report: Report): string {
  const p = report.payload;
  const parts = [
    typeof p.command_type === 'string' ? p.command_type : undefined,
    typeof p.decision === 'string'
      ? `${p.decision}${typeof p.decided_by === 'string' ? ` by ${p.decided_by}` : ''}`
      : undefined,
    typeof p.key === 'string' ? `key ${p.key}` : undefined,
    typeof p.status === 'string' ? p.status : undefined,
    typeof p.error === 'object' && p.error !== null
      ? `${(p.error as { code?: string }).code ?? ''} ${(p.error as { message?: string }).message ?? ''}`
      : undefined,
    typeof p.cost_usd === 'number' ? `$${p.cost_usd.toFixed(4)}` : undefined,
  ];
  return parts.filter((part) => part !== undefined).join(' · ');
}

/**
 * The report feed, newest first: one row per position, created once and never again, so a
 * report that arrives twice (it cannot, but history and live may overlap) is one row.
 */
export class FeedView {
  private readonly list = byId<HTMLOListElement>('feed-list');
  private readonly correlation = byId<HTMLInputElement>('filter-correlation');
  private readonly type = byId<HTMLSelectElement>('filter-type');
  private readonly status = byId<HTMLSelectElement>('filter-status');
  private readonly rows = new Map<number, HTMLLIElement>();
  private readonly types = new Set<string>();

  constructor(private readonly keep: number) {
    for (const control of [this.correlation, this.type, this.status])
      control.addEventListener('input', () => this.filterAll());
  }

  add(report: Report): void {
    if (this.rows.has(report.position)) return;
    const row = this.row(report);
    this.rows.set(report.position, row);
    // Rows are ordered by position, newest first; live reports land on top.
    const later = [...this.list.children].find(
      (child) => Number((child as HTMLElement).dataset.position) < report.position,
    );
    this.list.insertBefore(row, later ?? null);
    this.filter(row);
    if (!this.types.has(report.report_type)) this.addType(report.report_type);
    while (this.rows.size > this.keep) {
      const oldest = this.list.lastElementChild as HTMLLIElement;
      this.rows.delete(Number(oldest.dataset.position));
      oldest.remove();
    }
  }

  private row(report: Report): HTMLLIElement {
    const status = statusOf(report);
    return h(
      'li',
      {
        class: `report status-${status}`,
        'data-position': report.position,
        'data-type': report.report_type,
        'data-status': status,
        'data-correlation': report.correlation_id,
        'data-command': report.command_id ?? '',
      },
      h('span', { class: 'position' }, `#${report.position}`),
      h('time', { datetime: report.timestamp }, time(report.timestamp)),
      h('span', { class: 'type' }, report.report_type),
      h('span', { class: 'summary' }, summary(report)),
      h(
        'button',
        {
          type: 'button',
          class: 'link correlation',
          title: 'Show only this correlation id',
          onclick: () => this.only(report.correlation_id),
        },
        report.correlation_id,
      ),
    );
  }

  private only(correlationId: string): void {
    this.correlation.value = correlationId;
    this.filterAll();
  }

  private addType(type: string): void {
    this.types.add(type);
    const options = [...this.type.options].slice(1);
    const before = options.find((option) => option.value > type);
    this.type.insertBefore(h('option', { value: type }, type), before ?? null);
  }

  private filterAll(): void {
    for (const row of this.rows.values()) this.filter(row);
  }

  private filter(row: HTMLLIElement): void {
    const correlation = this.correlation.value.trim();
    row.hidden =
      (correlation !== '' && !row.dataset.correlation!.includes(correlation)) ||
      (this.type.value !== '' && row.dataset.type !== this.type.value) ||
      (this.status.value !== '' && row.dataset.status !== this.status.value);
  }
}
