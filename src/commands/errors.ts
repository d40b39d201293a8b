/** Domain errors of a command's life. Plain errors: only `src/http` turns them into statuses. */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The command id is taken by a different request (an idempotency key reused with another body). */
export class IdempotencyKeyReusedError extends DomainError {}

/** The task cannot start: it is not queued, not due, or already past this attempt. */
export class TaskNotRunnableError extends DomainError {}

/** A result or failure for an attempt that is not the running one: a stale worker. */
export class StaleAttemptError extends DomainError {}

/** A task command for a command that was never submitted. */
export class CommandNotFoundError extends DomainError {}

/** An ask that is not (or no longer, or not yet) in the state the command needs. */
export class AskNotPendingError extends DomainError {}

/** Only a held task can be requeued or discarded by an admin. */
export class TaskNotHeldError extends DomainError {}

/** A command built wrongly by its caller (a missing field the decider needs). */
export class InvalidCommandError extends DomainError {}

/** No such ask in this tenant. */
export class AskNotFoundError extends DomainError {}

/** The ask was already approved, denied or expired: a decision comes once. */
export class AskAlreadyDecidedError extends DomainError {
  constructor(
    readonly outcome: 'approved' | 'denied' | 'expired',
    message: string,
  ) {
    super(message);
  }
}

/** The approver saw another payload than the one the ask holds. */
export class PayloadMismatchError extends DomainError {}

/** Four eyes: whoever requested a command may not decide its ask. */
export class SelfApprovalError extends DomainError {}

/** A command's params do not match its type's schema. */
export class InvalidParamsError extends DomainError {
  constructor(
    commandType: string,
    readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>,
  ) {
    super(`params do not match ${commandType}`);
  }
}

/** The tenant holds as much as it may (waiting asks, memory): the command is refused for now. */
export class TenantCapReachedError extends DomainError {}
