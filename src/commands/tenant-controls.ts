import type { AutopilotEvent, MemoryEvent } from '../events/tenant-events.js';
import type { Command, Decider } from './decider.js';

export type PauseAutopilot = Command<'PauseAutopilot', { reason?: string }>;
export type ResumeAutopilot = Command<'ResumeAutopilot', { reason?: string }>;
export type AutopilotCommand = PauseAutopilot | ResumeAutopilot;
export type AutopilotState = { readonly paused: boolean };

/** The tenant's autopilot: pausing a paused one, or resuming a running one, changes nothing. */
export const autopilotDecider: Decider<AutopilotCommand, AutopilotState, AutopilotEvent> = {
  initialState: () => ({ paused: false }),
  decide(command, state) {
    const { actor } = command.metadata;
    switch (command.type) {
      case 'PauseAutopilot':
        return state.paused ? [] : [{ type: 'AutopilotPaused', data: { by: actor, reason: command.data.reason } }];
      case 'ResumeAutopilot':
        return state.paused ? [{ type: 'AutopilotResumed', data: { by: actor, reason: command.data.reason } }] : [];
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${(unknown as Command).type}`);
      }
    }
  },
  evolve: (_state, event) => ({ paused: event.type === 'AutopilotPaused' }),
};

export type SetMemory = Command<'SetMemory', { key: string; value: unknown }>;
export type DeleteMemory = Command<'DeleteMemory', { key: string }>;
export type MemoryCommand = SetMemory | DeleteMemory;

/** The tenant's memory: a log of writes with no rule between them, so nothing to load. */
export const memoryDecider: Decider<MemoryCommand, null, MemoryEvent> = {
  initialState: () => null,
  decide(command) {
    const { actor } = command.metadata;
    switch (command.type) {
      case 'SetMemory':
        return [{ type: 'MemorySet', data: { key: command.data.key, value: command.data.value, by: actor } }];
      case 'DeleteMemory':
        return [{ type: 'MemoryDeleted', data: { key: command.data.key, by: actor } }];
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${(unknown as Command).type}`);
      }
    }
  },
  evolve: () => null,
};
