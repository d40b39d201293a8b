import { byId, h, json } from '../dom.js';

export function memoryTable(memory: Readonly<Record<string, unknown>>): HTMLElement {
  const keys = Object.keys(memory).sort();
  if (keys.length === 0) return h('p', { class: 'muted' }, 'Empty.');
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'memory' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        keys.map((key) => h('tr', {}, h('th', { scope: 'row' }, key), h('td', {}, h('pre', {}, json(memory[key]))))),
      ),
    ),
  );
}

export function renderMemory(memory: Readonly<Record<string, unknown>>): void {
  byId('memory-body').replaceChildren(memoryTable(memory));
}
