import type { WorklogEntry } from '../../../src/projections/worklog.js';
import { byId, h, time } from '../dom.js';

/** The latest worklog lines, newest first. */
export function worklogItems(entries: readonly WorklogEntry[]): HTMLLIElement[] {
  return [...entries]
    .reverse()
    .map((entry) =>
      h(
        'li',
        { class: `level-${entry.level}`, 'data-position': entry.position },
        h('time', { datetime: entry.at }, time(entry.at)),
        ' ',
        entry.text,
      ),
    );
}

export function renderWorklog(entries: readonly WorklogEntry[]): void {
  byId('worklog-list').replaceChildren(...worklogItems(entries));
}
