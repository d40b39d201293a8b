#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { call, json, NexusError, type Connection } from './http-client.js';
import { tailReports } from './report-tail.js';

const USAGE = `nexus <command> [options]

Commands:
  send <command_type> [--params JSON] [--correlation-id ID] [--idempotency-key KEY]
  tail [--after N] [--until REPORT_TYPE] [--count N]     follow the report stream (resumes by last id)
  asks [--command-type T] [--risk-level L]                 asks waiting for a decision
  decide <ask_id> approve|deny [--reason TEXT]
  snapshot [--at N]                                         the snapshot, now or after position N
  audit export [--out FILE]                                 every RED ask and its chain, as NDJSON
  verify                                                    check the tenant's hash chain (exit 1 if broken)

Options (or environment):
  --url URL          NEXUS_URL      default http://127.0.0.1:8000
  --key KEY          NEXUS_API_KEY  sent as x-api-key (never in a URL)
  --org ORG          NEXUS_ORG      default "default"
  --project PROJECT  NEXUS_PROJECT  default "nexus"
`;

const print = (value: unknown) =>
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

function fail(message: string, code = 2): never {
  process.stderr.write(`nexus: ${message}\n`);
  process.exit(code);
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    org: { type: 'string' },
    project: { type: 'string' },
    params: { type: 'string' },
    'correlation-id': { type: 'string' },
    'idempotency-key': { type: 'string' },
    after: { type: 'string' },
    until: { type: 'string' },
    count: { type: 'string' },
    'command-type': { type: 'string' },
    'risk-level': { type: 'string' },
    reason: { type: 'string' },
    at: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const connection: Connection = {
  url: flags.url ?? process.env.NEXUS_URL ?? 'http://127.0.0.1:8000',
  ...((flags.key ?? process.env.NEXUS_API_KEY) ? { key: flags.key ?? process.env.NEXUS_API_KEY } : {}),
  org: flags.org ?? process.env.NEXUS_ORG ?? 'default',
  project: flags.project ?? process.env.NEXUS_PROJECT ?? 'nexus',
};

const integer = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) fail(`--${name} must be a whole number`);
  return Number(value);
};

async function run(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'send': {
      const [commandType] = args;
      if (!commandType) fail('send needs a command type, e.g. nexus send echo.test --params \'{"hello":"world"}\'');
      let params: unknown = {};
      if (flags.params !== undefined) {
        try {
          params = JSON.parse(flags.params);
        } catch {
          fail('--params must be JSON');
        }
      }
      const body = {
        command_type: commandType,
        params,
        ...(flags['correlation-id'] ? { correlation_id: flags['correlation-id'] } : {}),
      };
      const key = flags['idempotency-key'];
      print(
        await json(await call(connection, 'POST', '/sidecar/command', body, key ? { 'idempotency-key': key } : {})),
      );
      return 0;
    }
    case 'tail': {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const after = integer('after', flags.after);
      const count = integer('count', flags.count);
      await tailReports(connection, {
        ...(after === undefined ? {} : { after }),
        ...(count === undefined ? {} : { count }),
        ...(flags.until === undefined ? {} : { until: flags.until }),
        signal: controller.signal,
        onReport: (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
        onResume: (position) => process.stderr.write(`nexus: stream dropped; resuming after ${position}\n`),
      });
      return 0;
    }
    case 'asks': {
      const query = new URLSearchParams({
        ...(flags['command-type'] ? { command_type: flags['command-type'] } : {}),
        ...(flags['risk-level'] ? { risk_level: flags['risk-level'] } : {}),
      });
      print(await json(await call(connection, 'GET', `/approvals${query.size > 0 ? `?${query}` : ''}`)));
      return 0;
    }
    case 'decide': {
      const [askId, decision] = args;
      if (!askId || (decision !== 'approve' && decision !== 'deny')) fail('decide needs an ask id and approve or deny');
      const body = { decision, ...(flags.reason ? { reason: flags.reason } : {}) };
      print(await json(await call(connection, 'POST', `/approvals/${encodeURIComponent(askId)}/decide`, body)));
      return 0;
    }
    case 'snapshot': {
      const at = integer('at', flags.at);
      print(await json(await call(connection, 'GET', `/agent/snapshot${at === undefined ? '' : `?at=${at}`}`)));
      return 0;
    }
    case 'audit': {
      if (args[0] !== 'export') fail('audit has one sub-command: export');
      const text = await (await call(connection, 'GET', '/audit/approvals?format=ndjson')).text();
      if (flags.out) await writeFile(flags.out, text);
      else process.stdout.write(text);
      return 0;
    }
    case 'verify': {
      const result = (await json(await call(connection, 'GET', '/audit/verify'))) as { ok?: boolean };
      print(result);
      return result.ok === true ? 0 : 1;
    }
    default:
      process.stdout.write(USAGE);
      return command === undefined || flags.help ? 0 : 2;
  }
}

const [command, ...args] = positionals;
try {
  process.exitCode = flags.help ? (process.stdout.write(USAGE), 0) : await run(command, args);
} catch (error) {
  if (error instanceof NexusError) fail(error.message, 1);
  fail(error instanceof Error ? error.message : String(error), 1);
}
