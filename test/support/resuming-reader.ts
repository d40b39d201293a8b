import type { Tenant } from '../../src/events/tenant.js';
import { API_KEY } from './nexus.js';
import { SseClient } from './sse-client.js';

const headersOf = (tenant: Tenant, lastEventId?: number): Record<string, string> => ({
  'x-api-key': API_KEY,
  'x-org-id': tenant.org_id,
  'x-project-id': tenant.project_id,
  ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }),
});

/**
 * An SSE client that is cut and resumes with `Last-Event-ID` (on any of several replicas), and
 * keeps every report id it was given across its connections and the snapshot id of each resume.
 */
export class ResumingReader {
  /** For each resume: the id sent and the id of the snapshot that came back. */
  readonly resumes: Array<{ sent: number; snapshot: number }> = [];
  start = 0;
  private client: SseClient | undefined;
  /** Report ids of the connections before this one. */
  private readonly earlier: number[] = [];

  constructor(
    readonly tenant: Tenant,
    private readonly urls: readonly string[],
  ) {}

  /** Report ids, in the order received, across every connection. */
  get ids(): number[] {
    return [...this.earlier, ...(this.client?.reports.map((r) => r.position) ?? [])];
  }

  get lastId(): number {
    return this.client?.reports.at(-1)?.position ?? this.earlier.at(-1) ?? this.start;
  }

  /** Connects without a position and takes the snapshot's. */
  async open(): Promise<void> {
    const client = await this.connect(this.urls[0]!);
    await client.until((c) => c.events.length >= 1);
    this.start = Number(client.events[0]!.id);
  }

  /** Waits until this connection delivered a report, so the reader is live at the edge. */
  async live(): Promise<void> {
    await this.client!.until((c) => c.reports.length > 0, 30_000);
  }

  /** Cuts the connection and resumes at once after the last id received, on replica `replica`. */
  async cutAndResume(replica: number): Promise<void> {
    this.client!.close();
    const sent = this.lastId;
    this.earlier.push(...this.client!.reports.map((r) => r.position));
    const client = await this.connect(this.urls[replica % this.urls.length]!, sent);
    if (client.status !== 200) throw new Error(`resume answered ${client.status}`);
    await client.until((c) => c.events.length >= 1, 30_000);
    this.resumes.push({ sent, snapshot: Number(client.events[0]!.id) });
  }

  /** Resolves once the reader has received `position`. */
  async reach(position: number): Promise<void> {
    if (this.lastId >= position) return;
    await this.client!.until(() => this.lastId >= position, 30_000);
  }

  close(): void {
    this.client?.close();
  }

  private async connect(url: string, lastEventId?: number): Promise<SseClient> {
    this.client = await SseClient.connect(`${url}/agent/reports/stream`, headersOf(this.tenant, lastEventId));
    return this.client;
  }
}

/** Every report of a tenant (position and type), from `GET /agent/reports`. */
export async function reportHistory(
  url: string,
  tenant: Tenant,
): Promise<Array<{ position: number; report_type: string }>> {
  const reports: Array<{ position: number; report_type: string }> = [];
  for (let after = 0; ;) {
    const response = await fetch(`${url}/agent/reports?after=${after}&limit=1000`, { headers: headersOf(tenant) });
    const page = (await response.json()) as {
      reports: Array<{ position: number; report_type: string }>;
      next_after: number;
      has_more: boolean;
    };
    reports.push(...page.reports.map(({ position, report_type }) => ({ position, report_type })));
    after = page.next_after;
    if (!page.has_more) return reports;
  }
}
