import type { EventStore } from '../store/event-store.js';

/** What every use case needs: the log, the time and new ids, all from the edge. */
export interface UseCaseDeps {
  readonly store: EventStore;
  readonly now: () => Date;
  readonly newId: (prefix?: string) => string;
}

/** Who runs a use case, as the edge (a route, the MCP gateway) authenticated them. */
export interface Caller {
  /** The principal's id: what the audit names. */
  readonly id: string;
  /** A key many hold (NEXUS_API_KEY, development mode): it identifies nobody, which four eyes take into account. */
  readonly shared: boolean;
  /** The request's correlation id: the cause of what the use case records. */
  readonly correlation_id: string;
}
