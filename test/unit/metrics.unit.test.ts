import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import { events, recorded } from '../support/fixtures.js';

describe('metrics', () => {
  it('have every labelled series at 0 before the first event, and count events into them', async () => {
    const metrics = createMetrics();
    metrics.readGauges({ queueDepth: () => 0, tasksInFlight: () => 0, sseClients: () => 0 });
    metrics.knowCommandTypes(['echo.test', 'email.send']);
    const before = await metrics.registry.metrics();
    for (const action of ['requeue', 'hold', 'alarm', 'keep'])
      expect(before).toContain(`nexus_dead_letters_triaged_total{action="${action}"} 0`);
    for (const outcome of ['accepted', 'succeeded', 'dead_lettered', 'denied', 'expired']) {
      expect(before).toContain(`nexus_commands_total{command_type="email.send",outcome="${outcome}"} 0`);
    }
    expect(before).toContain('nexus_task_retries_total{command_type="echo.test"} 0');

    metrics.observe(recorded([events.accepted(), events.queued(), events.started(), events.succeeded()]));
    const after = await metrics.registry.metrics();
    expect(after).toContain('nexus_commands_total{command_type="echo.test",outcome="succeeded"} 1');
    expect(after).toContain('nexus_commands_total{command_type="email.send",outcome="succeeded"} 0');
  });
});
