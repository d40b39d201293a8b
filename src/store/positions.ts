/** The index of the first item with a position greater than `position`, in items sorted by position. */
export function indexAfter(items: readonly { readonly position: number }[], position: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (items[mid]!.position <= position) low = mid + 1;
    else high = mid;
  }
  return low;
}
