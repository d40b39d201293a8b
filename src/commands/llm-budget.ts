import type { LlmCallRecorded, LlmEvent } from '../events/llm-events.js';
import type { Command, Decider } from './decider.js';
import { DomainError } from './errors.js';

type Ids = { command_id: string; task_id: string; command_type: string };

export type ReserveBudget = Command<
  'ReserveBudget',
  Ids & { reservation_id: string; amount_usd: number; budget_usd: number }
>;
export type SettleCall = Command<'SettleCall', Omit<LlmCallRecorded['data'], 'reserved_usd'>>;
export type LlmBudgetCommand = ReserveBudget | SettleCall;

/** A tenant's day: what is reserved by calls under way, and what settled calls cost. */
export interface LlmBudgetState {
  readonly open: ReadonlyMap<string, number>;
  readonly spent_usd: number;
}

/** The reservation would take the day past its budget. */
export class BudgetExceededError extends DomainError {}

const committed = (state: LlmBudgetState): number =>
  state.spent_usd + [...state.open.values()].reduce((sum, amount) => sum + amount, 0);

/**
 * The daily LLM budget of a tenant. A reservation is granted only if what is spent plus what
 * is reserved stays within the budget; settling releases the reservation and spends the cost.
 */
export const llmBudgetDecider: Decider<LlmBudgetCommand, LlmBudgetState, LlmEvent> = {
  initialState: () => ({ open: new Map(), spent_usd: 0 }),
  decide(command, state) {
    switch (command.type) {
      case 'ReserveBudget': {
        const { amount_usd, budget_usd } = command.data;
        if (state.open.has(command.data.reservation_id)) return [];
        const after = committed(state) + amount_usd;
        if (after > budget_usd + 1e-9) {
          throw new BudgetExceededError(
            `the daily LLM budget of $${budget_usd.toFixed(2)} would be exceeded: $${committed(state).toFixed(4)} spent or reserved, this call may cost $${amount_usd.toFixed(4)}`,
          );
        }
        return [{ type: 'LlmBudgetReserved', data: command.data }];
      }
      case 'SettleCall': {
        const reserved = state.open.get(command.data.reservation_id);
        if (reserved === undefined) return [];
        return [{ type: 'LlmCallRecorded', data: { ...command.data, reserved_usd: reserved } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${(unknown as Command).type}`);
      }
    }
  },
  evolve(state, event) {
    if (event.type === 'LlmBreakerChanged') return state;
    const open = new Map(state.open);
    if (event.type === 'LlmBudgetReserved') {
      open.set(event.data.reservation_id, event.data.amount_usd);
      return { open, spent_usd: state.spent_usd };
    }
    open.delete(event.data.reservation_id);
    return { open, spent_usd: state.spent_usd + event.data.cost_usd };
  },
};
