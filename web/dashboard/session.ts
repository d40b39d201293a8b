import type { FourEyesRule } from '../../src/commands/four-eyes.js';
import { api, sameSession, sessionRefused, useSession } from './api.js';

export interface SessionInfo {
  readonly principal: { readonly id: string; readonly roles: readonly string[]; readonly shared: boolean };
  readonly four_eyes: FourEyesRule;
  readonly org_id: string;
  readonly project_id: string;
  readonly expires_at: string;
  readonly csrf_token: string;
}

let renewal: number | undefined;

/**
 * Keeps the session alive while the page is open: renewed halfway through its life, and tried
 * again a little later when NEXUS cannot answer (a restart, a rate limit). A refusal, or a
 * renewal that comes back as another principal or tenant, ends it.
 */
function keep(session: SessionInfo, onLost: () => void): SessionInfo {
  useSession(session, onLost);
  const renew = (inMs: number) => {
    window.clearTimeout(renewal);
    renewal = window.setTimeout(() => {
      api<SessionInfo>('POST', '/session').then(
        (renewed) => (sameSession(renewed, session) ? keep(renewed, onLost) : onLost()),
        (error: unknown) => (sessionRefused(error) ? onLost() : renew(5_000)),
      );
    }, inMs);
  };
  renew(Math.max(5_000, (Date.parse(session.expires_at) - Date.now()) / 2));
  return session;
}

/** The session the browser already holds, if any. */
export async function currentSession(onLost: () => void): Promise<SessionInfo | undefined> {
  try {
    return keep(await api<SessionInfo>('GET', '/session'), onLost);
  } catch {
    return undefined;
  }
}

/** Exchanges the key for a session cookie; the key is not kept anywhere by the page. */
export async function signIn(key: string, org: string, project: string, onLost: () => void): Promise<SessionInfo> {
  const headers: Record<string, string> = { 'x-org-id': org, 'x-project-id': project };
  if (key !== '') headers['x-api-key'] = key;
  return keep(await api<SessionInfo>('POST', '/session', undefined, headers), onLost);
}

export async function signOut(): Promise<void> {
  window.clearTimeout(renewal);
  useSession(undefined);
  await api('DELETE', '/session');
}
