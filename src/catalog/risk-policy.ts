import type { RiskLevel } from '../events/command-events.js';
import type { Tenant } from '../events/tenant.js';
import type { Catalog } from './catalog.js';

/** `org/project:command_type=LEVEL`, `*` for any org or project. */
export interface RiskOverride {
  readonly org: string;
  readonly project: string;
  readonly command_type: string;
  readonly level: RiskLevel;
}

const rank: Record<RiskLevel, number> = { GREEN: 0, YELLOW: 1, RED: 2 };
const ENTRY =
  /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})\/(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63}):([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)=(GREEN|YELLOW|RED)$/;

/** Parses `RISK_OVERRIDES`; throws with the entry that does not parse. */
export function parseRiskOverrides(text: string): RiskOverride[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const match = ENTRY.exec(entry);
      if (!match) throw new Error(`"${entry}" is not org/project:command.type=GREEN|YELLOW|RED`);
      return { org: match[1]!, project: match[2]!, command_type: match[3]!, level: match[4] as RiskLevel };
    });
}

const specificity = (override: RiskOverride) => (override.org === '*' ? 0 : 2) + (override.project === '*' ? 0 : 1);
const highest = (levels: readonly RiskLevel[]): RiskLevel => levels.reduce((a, b) => (rank[b] > rank[a] ? b : a));

/**
 * Every command's risk level in a tenant: the catalog's, raised by the overrides that match it
 * (the highest level wins, so a narrower entry never undoes a wider raise). With
 * `allowLowering` (an explicit admin setting) the most specific matching override decides, up
 * or down; without it, an override that would lower a level is refused when NEXUS starts.
 *
 * @example
 *   const levelOf = riskPolicy(catalog, parseRiskOverrides('acme/*:data.export=RED'), false);
 *   levelOf({ org_id: 'acme', project_id: 'web' }, 'data.export'); // 'RED'
 */
export function riskPolicy(catalog: Catalog, overrides: readonly RiskOverride[], allowLowering: boolean) {
  for (const override of overrides) {
    const base = catalog.get(override.command_type).risk;
    if (!allowLowering && rank[override.level] < rank[base]) {
      throw new Error(
        `RISK_OVERRIDES: ${override.command_type} would go from ${base} down to ${override.level}; set RISK_ALLOW_LOWERING=true to allow it`,
      );
    }
  }
  return (tenant: Tenant, commandType: string): RiskLevel => {
    const base = catalog.get(commandType).risk;
    const matching = overrides.filter(
      (o) =>
        o.command_type === commandType &&
        (o.org === '*' || o.org === tenant.org_id) &&
        (o.project === '*' || o.project === tenant.project_id),
    );
    if (matching.length === 0) return base;
    if (!allowLowering) return highest([base, ...matching.map((o) => o.level)]);
    const mostSpecific = Math.max(...matching.map(specificity));
    return highest(matching.filter((o) => specificity(o) === mostSpecific).map((o) => o.level));
  };
}

export type RiskPolicy = ReturnType<typeof riskPolicy>;
