/**
 * An ask's id is its command's id under another prefix (`cmd-…` → `ask-…`), so a decision
 * finds the command's stream without an index. A command asked about again (a requeue after
 * its approval lapsed) numbers its later asks: `ask-…~2`, `ask-…~3`.
 */
export const askIdFor = (commandId: string, generation = 1): string =>
  `ask-${commandId.replace(/^cmd-/, '')}${generation > 1 ? `~${generation}` : ''}`;

/** The command an ask belongs to, or `undefined` for a string that is not an ask id. */
export function commandIdOfAsk(askId: string): string | undefined {
  const match = /^ask-([A-Za-z0-9-]{1,100})(~[1-9][0-9]{0,5})?$/.exec(askId);
  return match ? `cmd-${match[1]}` : undefined;
}
