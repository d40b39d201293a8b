import type { RecordedEvent } from '../../events/envelope.js';
import { toReport } from '../../projections/report-feed.js';
import type { Snapshot } from '../../projections/snapshot.js';

// JSON.stringify escapes every newline, so each payload fits on one `data:` line.

/** A report event: `id:` is the event's position, so `Last-Event-ID` resumes right after it. */
export const reportFrame = (event: RecordedEvent): Uint8Array =>
  Buffer.from(`id: ${event.position}\nevent: report\ndata: ${JSON.stringify(toReport(event))}\n\n`);

/** The snapshot event, carrying the id of the position it is consistent with. */
export const snapshotFrame = (snapshot: Snapshot): Uint8Array =>
  Buffer.from(`id: ${snapshot.position}\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);

export const retryFrame = (ms: number): Uint8Array => Buffer.from(`retry: ${ms}\n\n`);

export const HEARTBEAT = Buffer.from(': heartbeat\n\n');
