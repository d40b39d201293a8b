import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { defineCommand } from '../../src/catalog/define-command.js';
import { parseRiskOverrides, riskPolicy } from '../../src/catalog/risk-policy.js';

const catalog = new Catalog([
  defineCommand({ type: 'file.delete', risk: 'YELLOW', description: 'delete', params: z.object({}) }),
  defineCommand({ type: 'echo.test', risk: 'GREEN', description: 'echo', params: z.object({}) }),
]);
const acmeWeb = { org_id: 'acme', project_id: 'web' };
const other = { org_id: 'globex', project_id: 'web' };

describe('RISK_OVERRIDES', () => {
  it('the highest applicable level wins: a narrower entry never undoes a wider raise', () => {
    const levelOf = riskPolicy(catalog, parseRiskOverrides('*/*:file.delete=RED,acme/web:file.delete=YELLOW'), false);
    expect(levelOf(acmeWeb, 'file.delete')).toBe('RED');
    expect(levelOf(other, 'file.delete')).toBe('RED');
  });

  it('raises only where an entry matches', () => {
    const levelOf = riskPolicy(catalog, parseRiskOverrides('acme/*:echo.test=YELLOW'), false);
    expect(levelOf(acmeWeb, 'echo.test')).toBe('YELLOW');
    expect(levelOf(other, 'echo.test')).toBe('GREEN');
  });

  it('refuses at start an entry that would lower a level, unless lowering is allowed', () => {
    expect(() => riskPolicy(catalog, parseRiskOverrides('acme/web:file.delete=GREEN'), false)).toThrow(
      /RISK_ALLOW_LOWERING/,
    );
  });

  it('with lowering allowed, the most specific entry decides, up or down', () => {
    const levelOf = riskPolicy(catalog, parseRiskOverrides('*/*:file.delete=RED,acme/web:file.delete=GREEN'), true);
    expect(levelOf(acmeWeb, 'file.delete')).toBe('GREEN');
    expect(levelOf(other, 'file.delete')).toBe('RED');
  });
});
