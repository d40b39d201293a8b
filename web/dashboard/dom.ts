type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/**
 * An element with attributes, listeners (`onclick`, `oninput`, …) and children. Text is always
 * set as text, never parsed as HTML, so nothing a report carries can become markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

export const time = (iso: string): string => new Date(iso).toLocaleTimeString([], { hour12: false });

/** `23h 59m 05s`, `1m 05s`, `45s`, or `expired`. */
export function countdown(untilIso: string, now: number): string {
  const seconds = Math.floor((Date.parse(untilIso) - now) / 1000);
  if (seconds <= 0) return 'expired';
  const [hours, minutes] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60)];
  const s = `${String(seconds % 60).padStart(2, '0')}s`;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m ${s}`;
  return minutes > 0 ? `${minutes}m ${s}` : `${seconds}s`;
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2);
