import type { Executor } from '../../../src/projections/snapshot.js';
import { byId, h, time } from '../dom.js';

/** The executors the snapshot knows; live workers' heartbeats are as of the last (re)connection. */
export function renderExecutors(sidecar: Readonly<Record<string, Executor>>): void {
  const ids = Object.keys(sidecar).sort();
  const body = byId('executors-body');
  if (ids.length === 0) {
    body.replaceChildren(h('p', { class: 'muted' }, 'No executor has run work for this tenant yet.'));
    return;
  }
  body.replaceChildren(
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Executor', 'Status', 'In flight', 'Done', 'Failed', 'Last seen'].map((name) =>
              h('th', { scope: 'col' }, name),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          ids.map((id) => {
            const executor = sidecar[id]!;
            return h(
              'tr',
              { 'data-executor': id },
              h('th', { scope: 'row', title: executor.capabilities?.join(', ') ?? '' }, id),
              h('td', {}, executor.status ?? (executor.in_flight.length > 0 ? 'busy' : 'idle')),
              h('td', {}, executor.in_flight.length),
              h('td', {}, executor.completed),
              h('td', {}, executor.failed),
              h('td', {}, time(executor.last_heartbeat_at ?? executor.last_seen_at)),
            );
          }),
        ),
      ),
    ),
  );
}
