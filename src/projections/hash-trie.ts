/**
 * A persistent map from string keys: every change returns a new map sharing all but the path it
 * changed with the old one, which stays as it was. A projection's state can then hold many
 * entries, be changed for each event in a few hundred nanoseconds, and be kept as a checkpoint
 * by reference. A hash array mapped trie: a small bucket of entries, split when it grows past a
 * few into a 32-way branch by 5 bits of the keys' hashes, and merged back when it shrinks.
 *
 * @example
 *   const a = trieSet(emptyTrie<number>(), 'task-1', 1);
 *   const b = trieDelete(a, 'task-1'); // a still holds task-1
 */
export type HashTrie<V> = Node<V>;

type Node<V> = Branch<V> | Bucket<V>;
interface Branch<V> {
  readonly slots: readonly (Node<V> | undefined)[];
}
/** Keys and values side by side: `[key, value, key, value, ...]`. */
interface Bucket<V> {
  readonly entries: readonly (string | V)[];
}

const BITS = 5;
const WIDTH = 1 << BITS;
/** Entries a bucket holds before it splits into a branch (unless the hash has no bits left), and a branch merges back into. */
const BUCKET_MAX = 8;
const MAX_DEPTH = Math.floor(32 / BITS);

const emptyBucket: Bucket<never> = Object.freeze({ entries: Object.freeze([]) });
const emptyBranch: Branch<never> = Object.freeze({ slots: Object.freeze(new Array<undefined>(WIDTH).fill(undefined)) });

export const emptyTrie = <V>(): HashTrie<V> => emptyBucket;

/** FNV-1a, 32 bits. */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

const slotOf = (hash: number, depth: number): number => (hash >>> (depth * BITS)) & (WIDTH - 1);
const isBucket = <V>(node: Node<V>): node is Bucket<V> => 'entries' in node;

/** Where `key` sits in a bucket's entries, or -1. */
function indexIn<V>(bucket: Bucket<V>, key: string): number {
  const { entries } = bucket;
  for (let i = 0; i < entries.length; i += 2) if (entries[i] === key) return i;
  return -1;
}

export function trieGet<V>(trie: HashTrie<V>, key: string): V | undefined {
  const hash = hashOf(key);
  let node: Node<V> | undefined = trie;
  for (let depth = 0; node !== undefined; depth++) {
    if (isBucket(node)) {
      const i = indexIn(node, key);
      return i === -1 ? undefined : (node.entries[i + 1] as V);
    }
    node = node.slots[slotOf(hash, depth)];
  }
  return undefined;
}

/** The map with `key` set to `value` (the same map when it already was). */
export function trieSet<V>(trie: HashTrie<V>, key: string, value: V): HashTrie<V> {
  return setIn(trie, hashOf(key), key, value, 0);
}

/** The map without `key` (the same map when it had none). */
export function trieDelete<V>(trie: HashTrie<V>, key: string): HashTrie<V> {
  return deleteIn(trie, hashOf(key), key, 0) ?? emptyBucket;
}

export function* trieEntries<V>(trie: HashTrie<V>): Generator<[string, V]> {
  const stack: Node<V>[] = [trie];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isBucket(node))
      for (let i = 0; i < node.entries.length; i += 2) yield [node.entries[i] as string, node.entries[i + 1] as V];
    else for (const slot of node.slots) if (slot !== undefined) stack.push(slot);
  }
}

const replaced = <T>(items: readonly T[], i: number, item: T): T[] => {
  const copy = items.slice();
  copy[i] = item;
  return copy;
};

function setIn<V>(node: Node<V> | undefined, hash: number, key: string, value: V, depth: number): Node<V> {
  if (node === undefined) return { entries: [key, value] };
  if (isBucket(node)) {
    const i = indexIn(node, key);
    if (i !== -1) return node.entries[i + 1] === value ? node : { entries: replaced(node.entries, i + 1, value) };
    if (node.entries.length < 2 * BUCKET_MAX || depth >= MAX_DEPTH) return { entries: [...node.entries, key, value] };
    return setIn(split(node, depth), hash, key, value, depth);
  }
  const i = slotOf(hash, depth);
  const child = node.slots[i];
  const next = setIn(child, hash, key, value, depth + 1);
  return next === child ? node : { slots: replaced(node.slots, i, next) };
}

/** A full bucket at `depth` as a branch of smaller buckets, one level down. */
function split<V>(bucket: Bucket<V>, depth: number): Branch<V> {
  let branch: Node<V> = emptyBranch;
  const { entries } = bucket;
  for (let i = 0; i < entries.length; i += 2)
    branch = setIn(branch, hashOf(entries[i] as string), entries[i] as string, entries[i + 1] as V, depth);
  return branch as Branch<V>;
}

/** Removes `key` under `node`: an emptied bucket goes (`undefined`), a branch left with few entries becomes a bucket again. */
function deleteIn<V>(node: Node<V> | undefined, hash: number, key: string, depth: number): Node<V> | undefined {
  if (node === undefined) return undefined;
  if (isBucket(node)) {
    const i = indexIn(node, key);
    if (i === -1) return node;
    if (node.entries.length === 2) return undefined;
    const entries = node.entries.slice();
    entries.splice(i, 2);
    return { entries };
  }
  const i = slotOf(hash, depth);
  const child = node.slots[i];
  const next = deleteIn(child, hash, key, depth + 1);
  if (next === child) return node;
  const slots = replaced(node.slots, i, next);
  if (slots.every((slot) => slot === undefined)) return undefined;
  return merged(slots) ?? { slots };
}

/** The entries of a branch's slots as one bucket, if they are few and all in buckets. */
function merged<V>(slots: readonly (Node<V> | undefined)[]): Bucket<V> | undefined {
  let count = 0;
  for (const slot of slots) {
    if (slot === undefined) continue;
    if (!isBucket(slot) || (count += slot.entries.length) > 2 * BUCKET_MAX) return undefined;
  }
  return { entries: slots.flatMap((slot) => (slot === undefined ? [] : (slot as Bucket<V>).entries)) };
}
