import type { CommandDefinition } from './define-command.js';

// Params types differ per command and appear in and out of a definition (schema, handler):
// the catalog can only hold them erased.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommandDefinition = CommandDefinition<any>;

export class UnknownCommandTypeError extends Error {
  constructor(readonly commandType: string) {
    super(`unknown command type "${commandType}"`);
    this.name = 'UnknownCommandTypeError';
  }
}

/** The command types this NEXUS knows, by name. */
export class Catalog {
  private readonly byType: ReadonlyMap<string, CommandDefinition>;

  constructor(definitions: readonly AnyCommandDefinition[]) {
    this.byType = new Map(definitions.map((d) => [d.type, d as CommandDefinition]));
  }

  /** Throws `UnknownCommandTypeError`. */
  get(type: string): CommandDefinition {
    const definition = this.byType.get(type);
    if (!definition) throw new UnknownCommandTypeError(type);
    return definition;
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  list(): CommandDefinition[] {
    return [...this.byType.values()];
  }
}
