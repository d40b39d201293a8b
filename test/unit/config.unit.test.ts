import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { variables } from '../../src/config/variables.js';

interface ExampleLine {
  name: string;
  value: string;
  commented: boolean;
  help: string;
  section: string;
}

function readExample(): ExampleLine[] {
  const lines = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').split('\n');
  const found: ExampleLine[] = [];
  let section = '';
  lines.forEach((line, i) => {
    const heading = /^# (REQUIRED|OPTIONAL|ADVANCED)\b/.exec(line);
    if (heading) section = heading[1]!;
    const match = /^(# )?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    if (match)
      found.push({
        name: match[2]!,
        value: match[3]!,
        commented: match[1] !== undefined,
        help: lines[i - 1]!.replace(/^# /, ''),
        section,
      });
  });
  return found;
}

describe('configuration', () => {
  it('.env.example lists every variable, in its section, with its help line and default (npx tsx scripts/env-example.ts)', () => {
    const example = readExample();
    expect(example.map((line) => line.name).sort()).toEqual(Object.keys(variables).sort());
    for (const line of example) {
      const spec = variables[line.name as keyof typeof variables];
      expect(line.section, line.name).toBe(spec.section);
      expect(line.help, line.name).toBe(spec.help);
      expect(line.value, line.name).toBe(spec.example);
      expect(line.commented, line.name).toBe(spec.example === '');
    }
  });

  it('the README documents every variable in its configuration table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(variables).sort());
  });

  it('.env.example as written is a valid configuration', () => {
    const env = Object.fromEntries(
      readExample()
        .filter((l) => !l.commented)
        .map((l) => [l.name, l.value]),
    );
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('defaults to development mode on loopback, port 8000, ./data', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      developmentMode: true,
      HOST: '127.0.0.1',
      PORT: 8000,
      STREAM_EVENT_KEEP: 2000,
      MAX_RETRIES: 3,
    });
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.NEXUS_WORKSPACE_DIR).toBe(`${config.dataDir}/workspace`);
  });

  it('serves every interface once a key is set', () => {
    expect(loadConfig({ NEXUS_API_KEY: 'a-long-enough-key' })).toMatchObject({
      developmentMode: false,
      HOST: '0.0.0.0',
    });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', NEXUS_API_KEY: '' })).toMatchObject({ PORT: 8000, developmentMode: true });
  });

  it('stops with a message naming each bad variable', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MAX_RETRIES: '-1', NEXUS_API_KEY: 'short' });
    expect(attempt).toThrow(ConfigError);
    const problems = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    expect(problems.map((p) => p.split(':')[0])).toEqual(['NEXUS_API_KEY', 'PORT', 'LOG_LEVEL', 'MAX_RETRIES']);
    expect(problems[1]).toContain('"eighty"');
  });

  it('refuses to serve beyond loopback without a key, and one key for two roles', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: 0.0.0.0 is not a loopback address/);
    expect(() => loadConfig({ NEXUS_API_KEY: 'same-key-123', ADMIN_API_KEY: 'same-key-123' })).toThrow(/ADMIN_API_KEY/);
    expect(loadConfig({ HOST: 'localhost' }).HOST).toBe('localhost');
  });

  it('never prints a secret, nor a password inside a URL, when a value is refused', () => {
    const secrets = {
      NEXUS_API_KEY: 'short',
      ADMIN_API_KEY: 'abc',
      SESSION_SECRET: 'too-short-session-secret',
      PAYMENT_WEBHOOK_SECRET: 'tiny',
      DATABASE_URL: 'mysql://nexus:hunter2-db-password@db/nexus',
      RABBITMQ_URL: 'http://guest:hunter2-amqp-password@mq/',
    };
    let message = '';
    try {
      loadConfig(secrets);
    } catch (error) {
      message = (error as ConfigError).message;
    }
    expect(message).toContain('SESSION_SECRET');
    expect(message).toContain('DATABASE_URL');
    for (const value of ['short', 'too-short-session-secret', 'tiny', 'hunter2']) expect(message).not.toContain(value);
    expect(message).toContain('a value of 5 characters');
  });

  it('turns authentication on when any key is configured, not only NEXUS_API_KEY', () => {
    expect(loadConfig({ ADMIN_API_KEY: 'an-admin-key-only' }).developmentMode).toBe(false);
    const principals = JSON.stringify([
      { id: 'alice', key_sha256: 'a'.repeat(64), roles: ['requester'], tenants: ['acme/*'] },
    ]);
    expect(loadConfig({ NEXUS_PRINCIPALS: principals }).developmentMode).toBe(false);
    expect(loadConfig({}).developmentMode).toBe(true);
  });
});
