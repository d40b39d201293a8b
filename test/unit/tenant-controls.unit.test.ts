import { describe, it } from 'vitest';
import {
  autopilotDecider,
  memoryDecider,
  type AutopilotCommand,
  type MemoryCommand,
} from '../../src/commands/tenant-controls.js';
import type { AutopilotEvent, MemoryEvent } from '../../src/events/tenant-events.js';
import { deciderSpec } from '../support/decider-spec.js';
import { metadata } from '../support/fixtures.js';

// A tenant's autopilot (operators pause and resume dispatching) and its memory (agents set and
// delete keys), each a stream of its own.

describe('PauseAutopilot and ResumeAutopilot', () => {
  const spec = deciderSpec(autopilotDecider);
  const pause = (reason?: string): AutopilotCommand => ({
    type: 'PauseAutopilot',
    data: reason === undefined ? {} : { reason },
    metadata: metadata(),
  });
  const resume = (reason?: string): AutopilotCommand => ({
    type: 'ResumeAutopilot',
    data: reason === undefined ? {} : { reason },
    metadata: metadata(),
  });
  const paused: AutopilotEvent = { type: 'AutopilotPaused', data: { by: 'alice', reason: 'deploy' } };
  const resumed: AutopilotEvent = { type: 'AutopilotResumed', data: { by: 'alice' } };

  it('pauses a running autopilot, recording who paused it and why', () => {
    spec.given([]).when(pause('deploy')).then([paused]);
    spec
      .given([paused, resumed])
      .when(pause())
      .then([{ type: 'AutopilotPaused', data: { by: 'alice' } }]);
  });

  it('resumes a paused autopilot, recording who resumed it and why', () => {
    spec.given([paused]).when(resume()).then([resumed]);
    spec
      .given([paused])
      .when(resume('deployed'))
      .then([{ type: 'AutopilotResumed', data: { by: 'alice', reason: 'deployed' } }]);
  });

  it('changes nothing when it pauses a paused autopilot or resumes a running one', () => {
    spec.given([paused]).when(pause('again')).thenNothingHappened();
    spec.given([]).when(resume()).thenNothingHappened();
    spec.given([paused, resumed]).when(resume()).thenNothingHappened();
  });
});

describe('SetMemory and DeleteMemory', () => {
  const spec = deciderSpec(memoryDecider);
  const set = (key: string, value: unknown): MemoryCommand => ({
    type: 'SetMemory',
    data: { key, value },
    metadata: metadata(),
  });
  const remove = (key: string): MemoryCommand => ({ type: 'DeleteMemory', data: { key }, metadata: metadata() });
  const history: MemoryEvent[] = [
    { type: 'MemorySet', data: { key: 'plan', value: { step: 1 }, by: 'bob' } },
    { type: 'MemoryDeleted', data: { key: 'plan', by: 'bob' } },
  ];

  // Memory has no rule between writes: no command is refused and none is a no-op (the tenant's
  // caps on keys and bytes are checked before the command is sent, in src/worker/tenant-memory.ts).
  it('records every write with its writer, whatever was written before', () => {
    spec
      .given([])
      .when(set('plan', { step: 2 }))
      .then([{ type: 'MemorySet', data: { key: 'plan', value: { step: 2 }, by: 'alice' } }]);
    spec
      .given(history)
      .when(set('plan', null))
      .then([{ type: 'MemorySet', data: { key: 'plan', value: null, by: 'alice' } }]);
  });

  it('records a deletion, of a key never set or already deleted too', () => {
    spec
      .given([])
      .when(remove('plan'))
      .then([{ type: 'MemoryDeleted', data: { key: 'plan', by: 'alice' } }]);
    spec
      .given(history)
      .when(remove('plan'))
      .then([{ type: 'MemoryDeleted', data: { key: 'plan', by: 'alice' } }]);
  });
});
