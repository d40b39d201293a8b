/** A refusal from NEXUS, as its `{"error":{"code","message"}}` body tells it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The session the page was opened for: its tenant goes with every request, its token with every change. */
export interface PageSession {
  readonly principal: { readonly id: string };
  readonly org_id: string;
  readonly project_id: string;
  readonly csrf_token: string;
}

let current: PageSession | undefined;
let changed: () => void = () => {};

/** `changed` runs when the browser's cookie turns out to hold another session (another tab signed in). */
export function useSession(session: PageSession | undefined, onChanged: () => void = () => {}): void {
  current = session;
  changed = onChanged;
}

/** An answer to a session check that means "sign in again", as against "try again later" (429, 5xx). */
export const sessionRefused = (error: unknown): boolean =>
  error instanceof ApiError && [400, 401, 403].includes(error.status);

export const sameSession = (a: PageSession, b: PageSession): boolean =>
  a.principal.id === b.principal.id && a.org_id === b.org_id && a.project_id === b.project_id;

/** A JSON request with the session cookie; throws ApiError on any answer but 2xx. */
export async function api<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  try {
    return await request<T>(method, path, body, headers);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'csrf_token_mismatch' || !current) throw error;
    // Another tab signed in again: the same principal and tenant may go on with the new token,
    // anything else ends this page's session (it must never act as someone else).
    const fresh = await request<PageSession>('GET', '/session', undefined, {}).catch(() => undefined);
    if (!fresh || !sameSession(fresh, current)) {
      changed();
      throw error;
    }
    current = { ...current, csrf_token: fresh.csrf_token };
    return request<T>(method, path, body, headers);
  }
}

async function request<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      // NEXUS refuses (403) a session cookie of another tenant than these headers name.
      ...(current ? { 'x-org-id': current.org_id, 'x-project-id': current.project_id } : {}),
      ...(method !== 'GET' && current ? { 'x-csrf-token': current.csrf_token } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `${response.status} ${response.statusText}`,
    );
  }
  return parsed as T;
}
