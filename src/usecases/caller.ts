/** Who runs a use case, as the edge (a route, the MCP gateway) authenticated them. */
export interface Caller {
  /** The principal's id: what the audit names. */
  readonly id: string;
  /** A key many hold (NEXUS_API_KEY, development mode): it identifies nobody, which four eyes take into account. */
  readonly shared: boolean;
  /** The request's correlation id: the cause of what the use case records. */
  readonly correlation_id: string;
}
