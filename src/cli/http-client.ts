/** Where and as whom the CLI talks to NEXUS: flags first, then the environment. */
export interface Connection {
  readonly url: string;
  readonly key?: string;
  readonly org: string;
  readonly project: string;
}

/** A refusal from NEXUS, with its `{"error":{"code","message"}}` body. */
export class NexusError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'NexusError';
  }
}

export function headers(connection: Connection, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'x-org-id': connection.org,
    'x-project-id': connection.project,
    ...(connection.key === undefined ? {} : { 'x-api-key': connection.key }),
    ...extra,
  };
}

/** A request to NEXUS; throws `NexusError` for an answer that is not 2xx. */
export async function call(
  connection: Connection,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<Response> {
  const response = await fetch(new URL(path, connection.url), {
    method,
    headers: headers(connection, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.ok) return response;
  const text = await response.text();
  let error: { code?: string; message?: string } = {};
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
  } catch {
    // not NEXUS's error shape: keep the text
  }
  throw new NexusError(response.status, error.code ?? 'http_error', error.message ?? text.slice(0, 500));
}

export const json = async (response: Response): Promise<unknown> => response.json();
