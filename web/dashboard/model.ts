import { fromReport, type Report } from '../../src/projections/report-feed.js';
import { snapshotProjection, stateOf, type Snapshot, type SnapshotState } from '../../src/projections/snapshot.js';
import type { Tenant } from '../../src/events/tenant.js';

/** Worklog lines the page keeps while folding reports. */
export const WORKLOG_KEEP = 100;
/** Reports (and feed rows) kept in the page; older ones leave. */
export const FEED_KEEP = 2_000;

const projection = snapshotProjection({ worklogKeep: WORKLOG_KEEP });

/**
 * What the page knows, all of it from the stream: the snapshot it was sent, folded forward
 * with every report after it by the server's own projection, and the reports themselves.
 */
export class Model {
  private state: SnapshotState | undefined;
  private tenant: Tenant | undefined;
  /** Reports by position, oldest first. */
  readonly reports = new Map<number, Report>();

  /** A (re)connection's snapshot replaces the state; reports already shown stay. */
  takeSnapshot(snapshot: Snapshot): void {
    this.tenant = { org_id: snapshot.org_id, project_id: snapshot.project_id };
    this.state = stateOf(snapshot, WORKLOG_KEEP);
  }

  /** Folds a live report in; false when it was already known. */
  takeReport(report: Report): boolean {
    if (this.reports.has(report.position)) return false;
    this.addReport(report);
    if (this.state && this.tenant) this.state = projection.evolve(this.state, fromReport(report, this.tenant));
    return true;
  }

  /** Adds a report from history (before the first snapshot): shown in the feed, not folded. */
  addReport(report: Report): boolean {
    if (this.reports.has(report.position)) return false;
    this.reports.set(report.position, report);
    // A tenth at a time, so a busy feed does not pay a search through every report per report.
    if (this.reports.size > FEED_KEEP * 1.1) {
      for (const position of [...this.reports.keys()].sort((a, b) => a - b).slice(0, this.reports.size - FEED_KEEP))
        this.reports.delete(position);
    }
    return true;
  }

  view(): Snapshot | undefined {
    if (!this.state || !this.tenant) return undefined;
    return projection.view(this.state, {
      tenant: this.tenant,
      position: this.state.position,
      timestamp: new Date().toISOString(),
    });
  }
}
