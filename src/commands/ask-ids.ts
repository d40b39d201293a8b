/**
 * An ask's id is its command's id under another prefix (`cmd-…` → `ask-…`), so a decision
 * finds the command's stream without an index.
 */
export const askIdFor = (commandId: string): string => `ask-${commandId.replace(/^cmd-/, '')}`;

/** The command an ask belongs to, or `undefined` for a string that is not an ask id. */
export function commandIdOfAsk(askId: string): string | undefined {
  return /^ask-[A-Za-z0-9-]{1,100}$/.test(askId) ? `cmd-${askId.slice(4)}` : undefined;
}
