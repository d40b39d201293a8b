import type { Report } from '../../../src/projections/report-feed.js';
import { byId } from '../dom.js';

const BUCKET_MS = 10_000;
const BUCKETS = 60;
const SVG = 'http://www.w3.org/2000/svg';

interface Bucket {
  tasks: number;
  spend: number;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/**
 * Tasks finished (bars) and LLM spend (line) per 10 seconds over the last 10 minutes, folded
 * from the reports the page holds: `task_completed`/`task_failed`, and `llm_call` costs.
 */
export class ChartView {
  private readonly body = byId('chart-body');
  private readonly buckets = new Map<number, Bucket>();

  add(report: Report): void {
    const finished = report.report_type === 'task_completed' || report.report_type === 'task_failed';
    const cost =
      report.report_type === 'llm_call' && typeof report.payload.cost_usd === 'number' ? report.payload.cost_usd : 0;
    if (!finished && cost === 0) return;
    const key = Math.floor(Date.parse(report.timestamp) / BUCKET_MS);
    const bucket = this.buckets.get(key) ?? { tasks: 0, spend: 0 };
    bucket.tasks += finished ? 1 : 0;
    bucket.spend += cost;
    this.buckets.set(key, bucket);
  }

  render(now = Date.now()): void {
    const last = Math.floor(now / BUCKET_MS);
    for (const key of this.buckets.keys()) if (key <= last - BUCKETS) this.buckets.delete(key);
    const series = Array.from(
      { length: BUCKETS },
      (_, i) => this.buckets.get(last - BUCKETS + 1 + i) ?? { tasks: 0, spend: 0 },
    );
    const maxTasks = Math.max(1, ...series.map((b) => b.tasks));
    const maxSpend = Math.max(0.0001, ...series.map((b) => b.spend));
    const width = 600;
    const height = 140;
    const bar = width / BUCKETS;
    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height + 20}`,
      role: 'img',
      class: 'chart',
      'aria-label': 'Tasks finished and LLM spend per 10 seconds, last 10 minutes',
    });
    series.forEach((b, i) => {
      if (b.tasks === 0) return;
      const barHeight = (b.tasks / maxTasks) * height;
      chart.append(
        svg('rect', { x: i * bar + 1, y: height - barHeight, width: bar - 2, height: barHeight, class: 'bar' }),
      );
    });
    const points = series.map((b, i) => `${i * bar + bar / 2},${height - (b.spend / maxSpend) * height}`).join(' ');
    chart.append(svg('polyline', { points, class: 'spend' }));
    chart.append(
      svg('text', { x: 0, y: height + 16, class: 'axis' }, '−10 min'),
      svg('text', { x: width, y: height + 16, class: 'axis', 'text-anchor': 'end' }, 'now'),
    );
    const tasks = series.reduce((sum, b) => sum + b.tasks, 0);
    const spend = series.reduce((sum, b) => sum + b.spend, 0);
    const legend = document.createElement('p');
    legend.className = 'legend';
    legend.id = 'chart-legend';
    legend.textContent = `bars: ${tasks} tasks finished (at most ${tasks === 0 ? 0 : maxTasks} per 10 s) · line: $${spend.toFixed(4)} LLM spend`;
    this.body.replaceChildren(chart, legend);
  }
}
