import type { TaskChange, TaskRef } from '../projections/pending-tasks.js';

interface Entry {
  ref: TaskRef;
  status: 'ready' | 'claimed' | 'running';
  due_at: number;
}

interface Timed {
  readonly due_at: number;
  readonly key: string;
  readonly attempt: number;
}

/**
 * What is left to run, folded from task changes in log order: ready tasks in a FIFO once due
 * and a min-heap until then. `claim` hands a task out once; it stays claimed until the log
 * says it started, finished or is ready again, or until `release`.
 */
export class TaskQueue {
  private readonly entries = new Map<string, Entry>();
  private due: Timed[] = [];
  private dueHead = 0;
  private readonly delayed: Timed[] = [];

  apply(change: TaskChange, now: number): void {
    if (change.kind === 'finished') {
      this.entries.delete(change.key);
      return;
    }
    if (change.kind === 'running') {
      this.entries.set(change.key, { ref: change.ref, status: 'running', due_at: 0 });
      return;
    }
    this.entries.set(change.key, { ref: change.ref, status: 'ready', due_at: change.due_at });
    this.schedule({ due_at: change.due_at, key: change.key, attempt: change.ref.attempt }, now);
  }

  /** The next task due at `now`, now claimed, or undefined. */
  claim(now: number): TaskRef | undefined {
    while (this.delayed.length > 0 && this.delayed[0]!.due_at <= now) this.due.push(popHeap(this.delayed));
    while (this.dueHead < this.due.length) {
      const next = this.due[this.dueHead++]!;
      if (this.dueHead > 1024 && this.dueHead * 2 > this.due.length) {
        this.due = this.due.slice(this.dueHead);
        this.dueHead = 0;
      }
      const entry = this.entries.get(next.key);
      if (entry?.status === 'ready' && entry.ref.attempt === next.attempt) {
        entry.status = 'claimed';
        return entry.ref;
      }
    }
    return undefined;
  }

  /** A claim that ended without the log moving on: ready again at `due_at`. */
  release(ref: TaskRef, key: string, dueAt: number, now: number): void {
    const entry = this.entries.get(key);
    if (entry?.status !== 'claimed' || entry.ref.attempt !== ref.attempt) return;
    entry.status = 'ready';
    entry.due_at = dueAt;
    this.schedule({ due_at: dueAt, key, attempt: ref.attempt }, now);
  }

  /** When the earliest delayed task falls due. */
  nextDueAt(): number | undefined {
    return this.delayed[0]?.due_at;
  }

  /** Tasks the log shows as started and not finished. */
  running(): TaskRef[] {
    return [...this.entries.values()].filter((e) => e.status === 'running').map((e) => e.ref);
  }

  get size(): number {
    return this.entries.size;
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
