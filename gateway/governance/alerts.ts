/**
 * Governance alert rules over the figures: the rules are versioned settings (governance_settings,
 * key `alert-rules`; defaults from src/core/governance/rules.ts); a check computes the figures, and each
 * breach not noticed before becomes an in-app notice for admin and governance (governance_notices, one
 * per model/version/mode/modality/week, metric and kind) and an audit record `governance-alert-raised`.
 * The check runs after every health record and whenever the rules change.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { withAudit } from '../audit/audit.js';
import { rolesFor } from '../../src/core/auth/permissions.js';
import { computeFigures } from '../../src/core/governance/figures.js';
import { AlertRulesSchema, DEFAULT_ALERT_RULES, checkDrift, checkRules, type AlertRules, type Breach } from '../../src/core/governance/rules.js';
import type { OrthancClient } from '../orthanc/client.js';
import { driftOf } from './drift.js';
import { readHistory, type GovernanceDeps } from './records.js';
import './migrations.js';

const KEY = 'alert-rules';

export interface RulesVersion {
  rules: AlertRules;
  version: number;
  changedBy: string;
  changedAt: string | null;
}

export async function currentRules(db: Kysely<DB>): Promise<RulesVersion> {
  const row = await db.selectFrom('governance_settings').selectAll().where('key', '=', KEY).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (!row) return { rules: DEFAULT_ALERT_RULES, version: 0, changedBy: 'system', changedAt: null };
  const parsed = AlertRulesSchema.safeParse(JSON.parse(row.value));
  // A stored value that no longer validates falls back to the defaults (the deployment ranges), never to "no rules".
  return { rules: parsed.success ? parsed.data : DEFAULT_ALERT_RULES, version: row.seq, changedBy: row.changed_by, changedAt: row.changed_at };
}

export async function setRules(db: Kysely<DB>, rules: AlertRules, actor: { username: string; role: string }): Promise<RulesVersion> {
  const before = await currentRules(db);
  const at = new Date().toISOString();
  // The new rules and their audit record: one transaction.
  await withAudit(db, async (trx) => {
    await trx.insertInto('governance_settings').values({ key: KEY, value: JSON.stringify(rules), changed_by: actor.username, changed_at: at }).execute();
    return { value: undefined, audit: { actor: actor.username, role: actor.role, action: 'settings-changed', detail: { setting: 'governance-alert-rules', before: before.rules, after: rules } } };
  });
  return currentRules(db);
}

export interface Notice extends Omit<Breach, 'range'> {
  createdAt: string;
  ackedBy: string | null;
  ackedAt: string | null;
}

export async function listNotices(db: Kysely<DB>, opts: { includeAcked?: boolean } = {}): Promise<Notice[]> {
  let q = db.selectFrom('governance_notices').selectAll().orderBy('created_at', 'desc').limit(500);
  if (!opts.includeAcked) q = q.where('acked_at', 'is', null);
  return (await q.execute()).map((n) => ({
    key: n.key,
    model: n.model,
    version: n.version,
    mode: n.mode,
    modality: n.modality,
    week: n.week,
    metric: n.metric as Breach['metric'],
    kind: n.kind as Breach['kind'],
    value: n.value,
    message: n.message,
    createdAt: n.created_at,
    ackedBy: n.acked_by,
    ackedAt: n.acked_at,
  }));
}

export async function ackNotice(db: Kysely<DB>, key: string, actor: { username: string; role: string }): Promise<boolean> {
  // The acknowledgement and its audit record: one transaction.
  return withAudit(db, async (trx) => {
    const r = await trx.updateTable('governance_notices').set({ acked_by: actor.username, acked_at: new Date().toISOString() }).where('key', '=', key).where('acked_at', 'is', null).executeTakeFirst();
    const done = Number(r.numUpdatedRows) > 0;
    return { value: done, audit: done ? { actor: actor.username, role: actor.role, action: 'governance-alert-acknowledged', detail: { notice: key } } : null };
  });
}

/** Computes the figures and the drift, checks them against the rules, records and audits the breaches not noticed before. */
export async function runRulesCheck(deps: GovernanceDeps & { orthanc: OrthancClient }): Promise<{ breaches: Breach[]; raised: Breach[] }> {
  const { db } = deps;
  const { rules } = await currentRules(db);
  const history = await readHistory(deps);
  const figs = computeFigures(history);
  const breaches = [...checkRules(rules, figs.rows), ...checkDrift(rules, await driftOf(db, deps.orthanc, history))];
  const raised: Breach[] = [];
  for (const b of breaches) {
    // The notice and its audit record: one transaction.
    const isNew = await withAudit(db, async (trx) => {
      const r = await trx
        .insertInto('governance_notices')
        .values({ key: b.key, created_at: new Date().toISOString(), model: b.model, version: b.version, mode: b.mode, modality: b.modality, week: b.week, metric: b.metric, kind: b.kind, value: b.value, message: b.message, acked_by: null, acked_at: null })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      const made = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
      return { value: made, audit: made ? { actor: 'system', action: 'governance-alert-raised', detail: { notice: b.key, model: b.model, version: b.version, mode: b.mode, modality: b.modality, week: b.week, metric: b.metric, kind: b.kind, value: b.value, range: b.range, notified: rolesFor('governance.read') } } : null };
    });
    if (isNew) raised.push(b);
  }
  return { breaches, raised };
}
