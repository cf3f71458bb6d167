import { sql } from 'kysely';
import { z } from 'zod';
import { invalidRequest } from '../api/validation.ts';
import type { Actor } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type Clock, systemClock } from './clock.ts';
import { type FlowDefinition, parseDefinition } from './definition.ts';

/**
 * Flows and their versions. A flow is a name, whether it is switched on, and its versions; editing the
 * definition adds a version that new entrants get, while customers already enrolled finish on the
 * version they entered (each enrollment records its version, each job reads it from there).
 */
export type Flow = {
  id: number;
  name: string;
  description: string | null;
  builtin: string | null;
  enabled: boolean;
  enabledAt: Date | null;
  currentVersion: number;
  definition: FlowDefinition;
  createdAt: Date;
  updatedAt: Date;
};

export const FlowInput = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(2000).nullable().optional(),
  definition: z
    .record(z.string(), z.unknown())
    .describe('trigger, steps, goal, holdoutShare (docs/flows.md)'),
});
export const FlowUpdate = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  description: z.string().max(2000).nullable().optional(),
  definition: z.record(z.string(), z.unknown()).optional(),
});

type FlowRow = {
  id: number;
  name: string;
  description: string | null;
  builtin: string | null;
  enabled: boolean;
  enabled_at: Date | null;
  current_version: number;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
};

function flowOf(row: FlowRow): Flow {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    builtin: row.builtin,
    enabled: row.enabled,
    enabledAt: row.enabled_at,
    currentVersion: row.current_version,
    definition: parseDefinition(row.definition),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const flowQuery = (database: Database) =>
  database.db
    .selectFrom('flows as f')
    .innerJoin('flow_versions as v', (j) =>
      j.onRef('v.flow_id', '=', 'f.id').onRef('v.version', '=', 'f.current_version'),
    )
    .select([
      'f.id',
      'f.name',
      'f.description',
      'f.builtin',
      'f.enabled',
      'f.enabled_at',
      'f.current_version',
      'v.definition',
      'f.created_at',
      'f.updated_at',
    ]);

export async function listFlows(database: Database): Promise<Flow[]> {
  const rows = await flowQuery(database).orderBy('f.id').execute();
  return rows.map((r) => flowOf(r as FlowRow));
}

/** A flow by id or by name. */
export async function getFlow(database: Database, key: number | string): Promise<Flow> {
  const byId = typeof key === 'number' || /^\d+$/.test(key);
  const row = await flowQuery(database)
    .where(byId ? 'f.id' : 'f.name', '=', byId ? Number(key) : String(key))
    .executeTakeFirst();
  if (!row) throw new KizunaError('not_found', `No flow ${key}`, { status: 404 });
  return flowOf(row as FlowRow);
}

async function nameTaken(database: Database, name: string, except?: number): Promise<void> {
  const other = await database.db
    .selectFrom('flows')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirst();
  if (other && Number(other.id) !== except) {
    throw new KizunaError('conflict', `name: a flow named "${name}" exists`, {
      field: 'name',
      status: 409,
    });
  }
}

export async function createFlow(
  database: Database,
  input: unknown,
  actor: Actor,
  options: { builtin?: string } = {},
): Promise<Flow> {
  const parsed = FlowInput.safeParse(input);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const definition = parseDefinition(parsed.data.definition, 'definition');
  await nameTaken(database, parsed.data.name);
  const id = await database.transaction(async (tx) => {
    const flow = await tx.db
      .insertInto('flows')
      .values({
        name: parsed.data.name,
        description: parsed.data.description ?? null,
        builtin: options.builtin ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto('flow_versions')
      .values({
        flow_id: flow.id,
        version: 1,
        definition: JSON.stringify(definition),
        created_by_staff_id: actor.staffId,
        created_by_name: actor.name,
      })
      .execute();
    return Number(flow.id);
  });
  return getFlow(database, id);
}

/**
 * Renames or redescribes a flow, and with a definition that differs from the current one adds a new
 * version (customers already enrolled stay on theirs).
 */
export async function updateFlow(
  database: Database,
  key: number | string,
  input: unknown,
  actor: Actor,
): Promise<Flow> {
  const parsed = FlowUpdate.safeParse(input);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const flow = await getFlow(database, key);
  if (parsed.data.name !== undefined) await nameTaken(database, parsed.data.name, flow.id);
  const definition =
    parsed.data.definition !== undefined ? parseDefinition(parsed.data.definition, 'definition') : undefined;
  const changed = definition !== undefined && JSON.stringify(definition) !== JSON.stringify(flow.definition);
  await database.transaction(async (tx) => {
    let version = flow.currentVersion;
    if (changed) {
      const last = await tx.db
        .selectFrom('flow_versions')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('flow_id', '=', flow.id)
        .executeTakeFirstOrThrow();
      version = Number(last.v) + 1;
      await tx.db
        .insertInto('flow_versions')
        .values({
          flow_id: flow.id,
          version,
          definition: JSON.stringify(definition),
          created_by_staff_id: actor.staffId,
          created_by_name: actor.name,
        })
        .execute();
    }
    await tx.db
      .updateTable('flows')
      .set({
        name: parsed.data.name ?? flow.name,
        description: parsed.data.description !== undefined ? parsed.data.description : flow.description,
        current_version: version,
        updated_at: new Date(),
      })
      .where('id', '=', flow.id)
      .execute();
  });
  return getFlow(database, flow.id);
}

/**
 * Switches a flow on or off. On: the trigger scan starts from now (a flow switched on does not reach back
 * into the history). Off: nobody new enters; customers already enrolled finish their path.
 */
export async function setFlowEnabled(
  database: Database,
  key: number | string,
  enabled: boolean,
  clock: Clock = systemClock,
): Promise<Flow> {
  const flow = await getFlow(database, key);
  if (flow.enabled !== enabled) {
    const now = clock.now();
    await database.db
      .updateTable('flows')
      .set(
        enabled
          ? { enabled: true, enabled_at: now, scanned_until: now, updated_at: now }
          : { enabled: false, updated_at: now },
      )
      .where('id', '=', flow.id)
      .execute();
  }
  return getFlow(database, flow.id);
}

/** The versions of a flow, newest first. */
export async function flowVersions(database: Database, key: number | string) {
  const flow = await getFlow(database, key);
  const rows = await database.db
    .selectFrom('flow_versions')
    .select(['version', 'definition', 'created_by_name', 'created_at'])
    .where('flow_id', '=', flow.id)
    .orderBy('version', 'desc')
    .execute();
  const counts = await sql<{ version: number; active: number; entered: number }>`
    select version, count(*) filter (where state = 'active')::int as active, count(*)::int as entered
    from flow_enrollments where flow_id = ${flow.id} group by version`.execute(database.db);
  const byVersion = new Map(counts.rows.map((r) => [r.version, r]));
  return rows.map((r) => ({
    version: r.version,
    createdBy: r.created_by_name,
    createdAt: r.created_at,
    entered: byVersion.get(r.version)?.entered ?? 0,
    active: byVersion.get(r.version)?.active ?? 0,
    definition: r.definition,
  }));
}

/** Definitions of (flow, version) pairs, parsed once per process (a version never changes). */
const versionCache = new WeakMap<Database, Map<string, FlowDefinition>>();

export async function loadDefinitions(
  database: Database,
  pairs: ReadonlyArray<{ flowId: number; version: number }>,
): Promise<Map<string, FlowDefinition>> {
  let cache = versionCache.get(database);
  if (!cache) {
    cache = new Map();
    versionCache.set(database, cache);
  }
  const missing = pairs.filter((p) => !cache.has(`${p.flowId}:${p.version}`));
  if (missing.length > 0) {
    const rows = await sql<{ flow_id: number; version: number; definition: unknown }>`
      select v.flow_id, v.version, v.definition from flow_versions v
      join unnest(${missing.map((p) => p.flowId)}::bigint[], ${missing.map((p) => p.version)}::int[]) as k(f, v)
        on v.flow_id = k.f and v.version = k.v`.execute(database.db);
    for (const r of rows.rows) cache.set(`${Number(r.flow_id)}:${r.version}`, parseDefinition(r.definition));
  }
  return cache;
}
