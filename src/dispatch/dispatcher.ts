import { setMaxListeners } from 'node:events';
import { readCommandLife } from '../commands/read-command-life.js';
import { sleep } from '../shared/sleep.js';
import { feedPages } from '../store/feed-pages.js';
import type { Tenant } from '../events/tenant.js';
import { replayedChange, taskKey, type PendingTask } from '../projections/pending-tasks.js';
import { loadTask } from '../worker/load-task.js';
import type { TaskOutcome, TaskRunnerDeps } from '../worker/run-task.js';
import { dueStep } from './due-step.js';
import { TaskQueue } from './task-queue.js';
import { TenantUsage } from './tenant-usage.js';

/** Where due tasks go in distributed mode: a queue that worker processes consume. */
export interface TaskPublisher {
  /** Resolves once the broker confirmed the task durable. */
  publishTask(task: PendingTask): Promise<void>;
  /** Hands a dead-lettered task to the dead-letter queue, where triage takes it. */
  publishDeadLetter(task: PendingTask): Promise<void>;
}

export interface DispatcherOptions extends TaskRunnerDeps {
  /** Tasks run (or publishes awaited) at once. */
  readonly concurrency: number;
  /** Distributed mode: tasks are published for worker processes instead of run here. */
  readonly publisher?: TaskPublisher;
  /** With several replicas, only the one this says leads dispatches (`wake` when it starts to). */
  readonly leads?: () => boolean;
  /** Each tenant's waiting asks and memory, which the dispatcher keeps following from the log (what the door's caps read). */
  readonly usage?: TenantUsage;
}

/** What a dispatch step came to; `published` leaves the task claimed until the log moves on. */
type StepOutcome = TaskOutcome | 'published';

/**
 * A claim that ends without the log moving on (the store unreachable, say, or the task's
 * previous handler still running) is offered again this much later.
 */
const RECLAIM_DELAY_MS = 1000;

/**
 * A published task the log still shows waiting this long is published again: the safety net
 * for a message the broker lost (a purged queue, say). Duplicates are harmless, only wasteful.
 */
const REPUBLISH_AFTER_MS = 5 * 60_000;

/** Events read at once when the log is folded at start. */
const REBUILD_PAGE = 5000;

/** Longer delays overflow Node's timers (and fire at once); an early wake just re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Dispatch driven by the log. What is due is folded from the log at start and followed live,
 * so a crash or restart loses nothing: queued tasks run, asks expire at their time, dead
 * letters are triaged. Embedded, tasks run in this process, and attempts the log shows running
 * that nobody runs (a previous process died mid-task) are recorded as failed (`WORKER_LOST`)
 * and retried like any other failure. With a `publisher`, tasks go to the queue instead and
 * stay claimed here until the log shows a worker took them; worker processes deal with lost
 * attempts, since only they know which of them are alive.
 *
 * @example
 *   const dispatcher = await Dispatcher.start({ ...runnerDeps, concurrency: 8 });
 *   await dispatcher.stop(10_000);
 */
export class Dispatcher {
  /** Each tenant's waiting asks and memory, followed from the same log: what the door's caps read. */
  readonly usage: TenantUsage;
  private readonly queue: TaskQueue;
  private readonly following = new AbortController();
  private readonly shutdown = new AbortController();
  private readonly active = new Set<Promise<void>>();
  /** Commands with a run under way here: never two runs of one command at once. */
  private readonly busy = new Set<string>();
  private loop: Promise<void> = Promise.resolve();
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private stopping = false;

  private constructor(private readonly options: DispatcherOptions) {
    this.queue = new TaskQueue({ republishOnResume: options.publisher !== undefined });
    this.usage = options.usage ?? new TenantUsage();
    // Every running task listens for the shutdown.
    setMaxListeners(0, this.shutdown.signal);
  }

  static async start(options: DispatcherOptions): Promise<Dispatcher> {
    const dispatcher = new Dispatcher(options);
    const head = await dispatcher.rebuild();
    dispatcher.loop = dispatcher.follow(head);
    dispatcher.pump();
    return dispatcher;
  }

  /** Tasks queued, retrying or running. */
  get pending(): number {
    return this.queue.size;
  }

  /** Embedded: handlers running here. With a publisher: tasks published or running on workers. */
  get inFlight(): number {
    return this.options.publisher ? this.queue.outstanding : this.active.size;
  }

  /**
   * Stops claiming; waits up to `graceMs` for running tasks, then aborts them (they are
   * retried), and waits as long again for them to record that. Handlers that ignore the abort
   * are left behind: what they would record is recorded as lost at the next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.wakeTimer);
    this.following.abort();
    await this.loop;
    const finished = Promise.allSettled([...this.active]);
    await Promise.race([finished, sleep(graceMs)]);
    this.shutdown.abort();
    await Promise.race([finished, sleep(Math.max(graceMs, 1000))]);
    if (this.active.size > 0)
      this.options.logger.warn({ handlers: this.active.size }, 'stopping with handlers that ignored their abort');
  }

  /** Folds the whole log; attempts it shows running belong to no live executor: they are due now. */
  private async rebuild(): Promise<number> {
    const { store } = this.options;
    const head = await store.headPosition();
    const now = this.options.now().getTime();
    const revived: Array<{ tenant: Tenant; command_id: string }> = [];
    for await (const page of feedPages(store, { upTo: head, withoutPayloads: true }, REBUILD_PAGE)) {
      for (const event of page) {
        this.usage.apply(event);
        const unknown = this.queue.apply(event, now);
        if (unknown) revived.push(unknown);
      }
    }
    for (const { tenant, command_id } of revived) await this.reload(tenant, command_id);
    if (!this.options.publisher)
      for (const orphan of this.queue.running()) this.queue.release(orphan, now, now, { running: true });
    return head;
  }

  /** A command the queue had let go of (it had finished) moved again: its stream, read from the log. */
  private async reload(tenant: Tenant, commandId: string): Promise<void> {
    const life = await readCommandLife(this.options.store, tenant, commandId);
    const change = replayedChange(life);
    if (change) this.queue.adopt(change, life.events.at(-1)!.revision, this.options.now().getTime());
  }

  private async follow(after: number): Promise<void> {
    const { store, logger } = this.options;
    const { signal } = this.following;
    let position = after;
    while (!signal.aborted) {
      try {
        for await (const batch of store.subscribe({ after: position, signal })) {
          const now = this.options.now().getTime();
          for (const event of batch) {
            this.usage.apply(event);
            const unknown = this.queue.apply(event, now);
            if (unknown) this.revive(unknown.tenant, unknown.command_id);
          }
          position = batch[batch.length - 1]!.position;
          this.pump();
        }
        // The subscription only ends on its own when the store closed or broke.
        if (!signal.aborted) logger.error('the event store stopped; the dispatcher stops following it');
        return;
      } catch (error) {
        if (signal.aborted) return;
        logger.error({ err: error }, 'dispatcher lost its subscription; resubscribing');
        await sleep(RECLAIM_DELAY_MS, signal);
      }
    }
  }

  /** `reload`, in the background, retried while the store cannot answer. */
  private revive(tenant: Tenant, commandId: string): void {
    const attempt = (): Promise<void> =>
      this.reload(tenant, commandId).then(
        () => this.pump(),
        (error: unknown) => {
          if (this.stopping) return;
          this.options.logger.warn(
            { err: error, command_id: commandId },
            'a requeued command could not be read again; retrying',
          );
          return sleep(RECLAIM_DELAY_MS).then(attempt);
        },
      );
    void attempt();
  }

  /** Dispatches what is due now (a replica that just became the leader calls this). */
  wake(): void {
    this.pump();
  }

  private pump(): void {
    if (this.stopping) return;
    if (this.options.leads && !this.options.leads()) return;
    const now = this.options.now().getTime();
    while (this.active.size < this.options.concurrency) {
      const task = this.queue.claim(now);
      if (!task) break;
      if (this.busy.has(taskKey(task.tenant, task.command_id))) this.queue.release(task, now + RECLAIM_DELAY_MS, now);
      else this.run(task);
    }
    // With every slot taken, the next finished task pumps again: no timer needed till then.
    if (this.active.size < this.options.concurrency) this.armWakeTimer(now);
  }

  private run(task: PendingTask): void {
    const key = taskKey(task.tenant, task.command_id);
    this.busy.add(key);
    const running = this.attempt(task).then(
      (outcome: StepOutcome) => {
        if (outcome === 'skipped') this.release(task);
        else if (outcome === 'published') {
          const now = this.options.now().getTime();
          this.queue.release(task, now + REPUBLISH_AFTER_MS, now);
        }
      },
      (error: unknown) => {
        this.options.logger.error(
          { err: error, correlation_id: task.correlation_id, command_id: task.command_id },
          'task could not be run',
        );
        this.release(task, { running: true });
      },
    );
    this.active.add(running);
    void running.finally(() => {
      this.active.delete(running);
      this.busy.delete(key);
      this.pump();
    });
  }

  /**
   * What is due for a command: its task's attempt, its ask's warning or expiry, abandoning a lost
   * attempt, or triage. Acted on as the command's stream tells it now (the queue holds no params).
   */
  private async attempt(claimed: PendingTask): Promise<StepOutcome> {
    const { publisher } = this.options;
    if (publisher) {
      const { status } = claimed.state;
      if (status === 'queued' || status === 'retry_scheduled')
        return publisher.publishTask(claimed).then(() => 'published');
      if (status === 'dead_lettered') return publisher.publishDeadLetter(claimed).then(() => 'published');
      if (status === 'running') return 'skipped';
    }
    const task = await loadTask(this.options.store, claimed.tenant, claimed.command_id, claimed.correlation_id);
    return dueStep(task.state.status)(this.options, task, this.shutdown.signal);
  }

  private release(task: PendingTask, options: { running?: boolean } = {}): void {
    const now = this.options.now().getTime();
    this.queue.release(task, now + RECLAIM_DELAY_MS, now, options);
  }

  private armWakeTimer(now: number): void {
    const next = this.queue.nextDueAt();
    if (next === undefined || next >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = next;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAt = Infinity;
        this.pump();
      },
      Math.min(Math.max(0, next - now), MAX_TIMER_MS),
    );
  }
}
