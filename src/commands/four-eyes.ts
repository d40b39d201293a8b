/**
 * APPROVAL_FOUR_EYES: whether whoever requested a command may decide its ask (or requeue it
 * past its approval). `named`: a named principal never may; the shared NEXUS_API_KEY identifies
 * nobody, so a request made with it may be decided with it. `always`: nobody may, the shared
 * key included. `off`: anybody may.
 */
export type FourEyesRule = 'named' | 'always' | 'off';

/** Who acts, as far as four eyes care: `shared` when the key is one that many hold. */
export interface Actor {
  readonly id: string;
  readonly shared: boolean;
}

/**
 * Whether `rule` bars `actor` from acting on what `requestedBy` asked for.
 *
 * @example
 *   barsRequester('named', { id: 'api-key', shared: true }, 'api-key'); // false
 *   barsRequester('named', { id: 'alice', shared: false }, 'alice');   // true
 */
export function barsRequester(rule: FourEyesRule, actor: Actor, requestedBy: string): boolean {
  if (actor.id !== requestedBy) return false;
  return rule === 'always' || (rule === 'named' && !actor.shared);
}
