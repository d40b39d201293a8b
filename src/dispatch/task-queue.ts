import { isCommandLifeEvent } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';
import { tenantKey, type Tenant } from '../events/tenant.js';
import { taskChange, taskKey, type PendingTask, type TaskChange } from '../projections/pending-tasks.js';

interface Entry {
  task: PendingTask;
  status: 'waiting' | 'ready' | 'claimed' | 'running';
}

interface Timed {
  readonly due_at: number;
  readonly key: string;
  readonly attempt: number;
}

const attemptOf = (task: PendingTask): number => ('attempt' in task.state ? task.state.attempt : 0);
const isRun = (task: PendingTask): boolean => task.state.status === 'queued' || task.state.status === 'retry_scheduled';

/**
 * What is left to do, folded from the log in order: entries due now in a FIFO, later ones in
 * a min-heap until their time. `claim` hands an entry out once; it stays claimed until the
 * log says something new about it, or until `release`.
 */
export class TaskQueue {
  private readonly entries = new Map<string, Entry>();
  private due: Timed[] = [];
  private dueHead = 0;
  private readonly delayed: Timed[] = [];
  /** Tenants whose autopilot is paused, and the runs held back for them. */
  private readonly paused = new Set<string>();
  private readonly parked = new Map<string, Timed[]>();

  /**
   * `republishOnResume`: tasks handed out before a pause are offered again on resume (workers
   * leave a paused tenant's queued messages alone, so the queue may have dropped them).
   */
  constructor(private readonly options: { republishOnResume?: boolean } = {}) {}

  /**
   * Folds one event in. Answers the command when the event is of one this queue no longer holds
   * (it had finished, and an admin brought it back): the caller reads it from the log and
   * `adopt`s it.
   */
  apply(event: RecordedEvent, now: number): { tenant: Tenant; command_id: string } | undefined {
    if (event.type === 'AutopilotPaused' || event.type === 'AutopilotResumed') return this.pause(event, now);
    if (!isCommandLifeEvent(event)) return undefined;
    const { command_id } = event.data;
    const change = taskChange(this.entries.get(taskKey(event.tenant, command_id))?.task, event);
    if (change?.kind === 'unknown') return { tenant: change.tenant, command_id: change.command_id };
    if (change) this.take(change, now);
    return undefined;
  }

  /** A command read again from the log (see `apply`); ignored if the queue meanwhile knows it as far. */
  adopt(change: TaskChange, revision: number, now: number): void {
    if (change.kind === 'unknown') return;
    const known = this.entries.get(change.key);
    if (known && known.task.revision >= revision) return;
    this.take(change, now);
  }

  private take(change: Exclude<TaskChange, { kind: 'unknown' }>, now: number): void {
    if (change.kind === 'finished') {
      this.entries.delete(change.key);
      return;
    }
    this.entries.set(change.key, { task: change.task, status: change.kind });
    if (change.kind === 'ready')
      this.schedule({ due_at: change.due_at, key: change.key, attempt: attemptOf(change.task) }, now);
  }

  /** The next task due at `now`, now claimed, or undefined. */
  claim(now: number): PendingTask | undefined {
    while (this.delayed.length > 0 && this.delayed[0]!.due_at <= now) this.due.push(popHeap(this.delayed));
    while (this.dueHead < this.due.length) {
      const next = this.due[this.dueHead++]!;
      if (this.dueHead > 1024 && this.dueHead * 2 > this.due.length) {
        this.due = this.due.slice(this.dueHead);
        this.dueHead = 0;
      }
      const entry = this.entries.get(next.key);
      if (entry?.status !== 'ready' || attemptOf(entry.task) !== next.attempt) continue;
      const tenant = tenantKey(entry.task.tenant);
      // A paused autopilot holds runs back; asks still time out and lost attempts are still recorded.
      if (this.paused.has(tenant) && isRun(entry.task)) {
        const parked = this.parked.get(tenant);
        if (parked) parked.push(next);
        else this.parked.set(tenant, [next]);
        continue;
      }
      entry.status = 'claimed';
      return entry.task;
    }
    return undefined;
  }

  /**
   * A claim that ended without the log moving on: due again at `dueAt`. With `running`, also
   * an attempt the log shows running that nobody runs any more: it becomes due, to be
   * recorded as abandoned.
   */
  release(task: PendingTask, dueAt: number, now: number, options: { running?: boolean } = {}): void {
    const key = taskKey(task.tenant, task.command_id);
    const entry = this.entries.get(key);
    const releasable = entry?.status === 'claimed' || (options.running === true && entry?.status === 'running');
    if (!entry || !releasable || attemptOf(entry.task) !== attemptOf(task)) return;
    entry.status = 'ready';
    this.schedule({ due_at: dueAt, key, attempt: attemptOf(entry.task) }, now);
  }

  /** When the earliest delayed task falls due. */
  nextDueAt(): number | undefined {
    return this.delayed[0]?.due_at;
  }

  /** Tasks handed out (claimed) or shown running by the log. */
  get outstanding(): number {
    let count = 0;
    for (const { status } of this.entries.values()) if (status === 'claimed' || status === 'running') count++;
    return count;
  }

  /** Tasks the log shows as started and not finished. */
  running(): PendingTask[] {
    return [...this.entries.values()].filter((e) => e.status === 'running').map((e) => e.task);
  }

  /** Tasks queued, retrying or running (not asks waiting for a decision). */
  get size(): number {
    let count = 0;
    for (const { task } of this.entries.values()) {
      const { status } = task.state;
      if (status === 'queued' || status === 'retry_scheduled' || status === 'running') count++;
    }
    return count;
  }

  private pause(event: RecordedEvent, now: number): undefined {
    const tenant = tenantKey(event.tenant);
    if (event.type === 'AutopilotPaused') {
      this.paused.add(tenant);
      return;
    }
    this.paused.delete(tenant);
    for (const timed of this.parked.get(tenant) ?? []) this.schedule(timed, now);
    this.parked.delete(tenant);
    if (!this.options.republishOnResume) return;
    for (const [key, entry] of this.entries) {
      if (entry.status !== 'claimed' || !isRun(entry.task) || tenantKey(entry.task.tenant) !== tenant) continue;
      entry.status = 'ready';
      this.schedule({ due_at: now, key, attempt: attemptOf(entry.task) }, now);
    }
  }

  private schedule(timed: Timed, now: number): void {
    if (timed.due_at <= now) this.due.push(timed);
    else pushHeap(this.delayed, timed);
  }
}

function pushHeap(heap: Timed[], item: Timed): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.due_at <= heap[i]!.due_at) break;
    [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
    i = parent;
  }
}

function popHeap(heap: Timed[]): Timed {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left]!.due_at < heap[smallest]!.due_at) smallest = left;
      if (right < heap.length && heap[right]!.due_at < heap[smallest]!.due_at) smallest = right;
      if (smallest === i) break;
      [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
      i = smallest;
    }
  }
  return top;
}
