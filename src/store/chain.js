// The hash chain over each tenant's events: every stored event carries the sha-256 of the
// previous one's link and its own stored content, so an edited, inserted or deleted event
// breaks every link after it. Plain JavaScript: the writer thread uses it too.
import { createHash } from 'node:crypto';

/** The link before a tenant's first event. */
export const GENESIS = '';

/**
 * @typedef {{ tenant: string, stream: string, revision: number, event_id: string, type: string,
 *   version: number, data: string, metadata: string }} ChainedContent
 */

/**
 * @param {string} previous the previous link of the same tenant (GENESIS for its first event)
 * @param {ChainedContent} event the event as stored (data and metadata as their JSON text)
 * @returns {string}
 */
export function chainLink(previous, event) {
  const hash = createHash('sha256');
  // Each field length-prefixed: no two different events hash the same text.
  for (const field of [
    previous,
    event.tenant,
    event.stream,
    String(event.revision),
    event.event_id,
    event.type,
    String(event.version),
    event.data,
    event.metadata,
  ]) {
    hash.update(`${field.length}:`).update(field);
  }
  return hash.digest('hex');
}
