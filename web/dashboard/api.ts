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

let csrfToken: string | undefined;

/** Every change the page asks for carries the session's CSRF token. */
export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** A JSON request with the session cookie; throws ApiError on any answer but 2xx. */
export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  try {
    return await request<T>(method, path, body, headers);
  } catch (error) {
    // Another tab signed in again (a new session, a new token): learn it and try once more.
    if (!(error instanceof ApiError) || error.code !== 'csrf_token_mismatch') throw error;
    csrfToken = (await request<{ csrf_token: string }>('GET', '/session', undefined, {})).csrf_token;
    return request<T>(method, path, body, headers);
  }
}

async function request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, headers: Record<string, string>): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(method !== 'GET' && csrfToken !== undefined ? { 'x-csrf-token': csrfToken } : {}),
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
    throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `${response.status} ${response.statusText}`);
  }
  return parsed as T;
}
