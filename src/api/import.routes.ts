import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { type Actor, ForbiddenError, type Permission, requirePermission } from '../auth/index.ts';
import { KizunaError } from '../errors.ts';
import {
  type ImportResult,
  importRecords,
  KIND_NAMES,
  type KindName,
  openFileSource,
} from '../importer/index.ts';
import { type ColumnMapping, ImportJobs, mappedSource, sourceColumn } from '../importer/jobs.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, signedIn } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

/** The largest CSV the API takes (about 100,000 customer rows); larger files go through `kizuna import`. */
export const IMPORT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** The permission each kind of import needs (the one its records' own write routes need). */
export const IMPORT_PERMISSIONS: Record<KindName, Permission> = {
  customers: 'customers:write',
  products: 'catalog:write',
  stores: 'catalog:write',
  staff: 'staff:manage',
  orders: 'orders:write',
  returns: 'orders:write',
  touches: 'touches:write',
  interactions: 'interactions:write',
  preferences: 'notes:write',
};

const yesNo = z.enum(['true', 'false']);

export const ImportQuery = z.strictObject({
  kind: z.enum(KIND_NAMES as [KindName, ...KindName[]]).describe('what the rows are'),
  dryRun: yesNo
    .optional()
    .describe('true (default): check every row and write nothing; false: import, as a background job'),
  strict: yesNo.optional().describe('true: write nothing unless every row is valid'),
  createMissing: yesNo
    .optional()
    .describe('true: unknown customers / products / stores of a row become placeholders'),
  timeZone: z
    .string()
    .max(64)
    .optional()
    .describe('for times without an offset, e.g. Asia/Tokyo (default UTC)'),
  mapping: z
    .string()
    .max(10_000)
    .optional()
    .describe('JSON object: the file’s column → the Kizuna column, e.g. {"メール":"email"}'),
  name: z
    .string()
    .max(200)
    .regex(/^[^/\\]+$/, 'a file name without folders')
    .optional()
    .describe('the file’s name, for the report (default <kind>.csv)'),
});
export const ImportParams = z.object({ id: z.uuid() });

const Mapping = z.record(z.string().min(1).max(200), z.string().min(1).max(200));

function parseMapping(text: string | undefined): ColumnMapping {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KizunaError('invalid_mapping', 'mapping: not JSON; give {"file column": "Kizuna column", …}', {
      field: 'mapping',
    });
  }
  const parsed = Mapping.safeParse(value);
  if (!parsed.success) {
    throw new KizunaError('invalid_mapping', 'mapping: give {"file column": "Kizuna column", …} (texts)', {
      field: 'mapping',
    });
  }
  return parsed.data;
}

/** The importer's summary with each error's column named as the file names it. */
function report(result: ImportResult, mapping: ColumnMapping) {
  const { errors, ...summary } = result;
  return {
    ...summary,
    errors: errors.map((e) => ({
      line: e.line,
      field: e.field,
      column: e.field === '' ? '' : sourceColumn(mapping, e.field),
      value: e.value,
      reason: e.reason,
    })),
  };
}

const ownerOf = (actor: Actor) => `${actor.kind}:${actor.staffId ?? actor.tokenId ?? ''}`;

/**
 * CSV import over HTTP for the web app: a dry run answers at once with the line-numbered error report;
 * a real run starts a background job whose progress GET /api/imports/:id reports. The CSV is written to
 * a temporary file and read by the same importer as `kizuna import` (UTF-8 check, validation, staging,
 * idempotent upserts, batch transactions).
 */
export const importRoutes: RouteModule = (app, { database }) => {
  const jobs = new ImportJobs();
  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT_BYTES },
    (_request, body, done) => done(null, body),
  );

  app.post('/api/imports', { ...signedIn(), bodyLimit: IMPORT_BODY_LIMIT_BYTES }, async (request, reply) => {
    const query = parseInput(ImportQuery, request.query);
    const actor = actorOf(request);
    requirePermission(actor, IMPORT_PERMISSIONS[query.kind]);
    if (actor.storeIds !== null) {
      throw new ForbiddenError(
        'imports write records of every store: they need an account with all stores',
        'import_needs_all_stores',
      );
    }
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new KizunaError('invalid_request', 'send the CSV file as the body, with Content-Type text/csv', {
        field: 'body',
      });
    }
    const mapping = parseMapping(query.mapping);
    const dryRun = query.dryRun !== 'false';
    request.audit.target = `import ${query.kind}`;
    const dir = await mkdtemp(join(tmpdir(), 'kizuna-import-'));
    const cleanup = () => rm(dir, { recursive: true, force: true });
    let started = false;
    try {
      const path = join(dir, query.name?.toLowerCase().endsWith('.csv') ? query.name : `${query.kind}.csv`);
      await writeFile(path, body);
      const source = mappedSource(await openFileSource(path), query.kind, mapping);
      const options = {
        strict: query.strict === 'true',
        createMissing: query.createMissing === 'true',
        timeZone: query.timeZone,
      };
      if (dryRun) {
        const result = await importRecords(database, query.kind, source, { ...options, dryRun: true });
        request.audit.detail = { dryRun, rows: result.rows, rejected: result.rejected };
        return report(result, mapping);
      }
      let totalRows = 0;
      for await (const _ of source.records()) totalRows++;
      const job = jobs.start(database, ownerOf(actor), query.kind, source, totalRows, options, cleanup);
      started = true;
      request.audit.detail = { dryRun, rows: totalRows, job: job.id };
      return reply.code(202).header('location', `/api/imports/${job.id}`).send(job);
    } finally {
      if (!started) await cleanup();
    }
  });

  app.get('/api/imports/:id', signedIn(), async (request) => {
    const { id } = parseInput(ImportParams, request.params);
    const job = jobs.get(id, ownerOf(actorOf(request)));
    if (!job) throw new KizunaError('import_not_found', `no import ${id} of yours`, { status: 404 });
    return { ...job, result: job.result && report(job.result, {}) };
  });
};

export const ImportReport = z.object({
  kind: z.enum(KIND_NAMES as [KindName, ...KindName[]]),
  file: z.string(),
  rows: z.number().int(),
  inserted: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  rejected: z.number().int(),
  duplicates: z.number().int(),
  extra: z.record(z.string(), z.number()),
  errorCount: z.number().int(),
  warnings: z.array(z.string()),
  seconds: z.number(),
  committed: z.boolean(),
  dryRun: z.boolean(),
  strict: z.boolean(),
  errors: z.array(
    z.object({
      line: z.number().int(),
      field: z.string(),
      column: z.string(),
      value: z.string().optional(),
      reason: z.string(),
    }),
  ),
});
/** An import job as POST (202) and GET /api/imports/:id answer it. */
export const ImportJobResponse = z.object({
  id: z.string(),
  kind: ImportReport.shape.kind,
  file: z.string(),
  status: z.enum(['running', 'done', 'failed']),
  totalRows: z.number().int(),
  rowsDone: z.number().int(),
  committedRows: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  result: ImportReport.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
/** The answer of a dry run (200), or of a run: the job (202). */
export const ImportResponse = z.union([ImportReport, ImportJobResponse]);

const RESULT =
  '{kind, file, rows, inserted, updated, unchanged, rejected, duplicates, committed, dryRun, strict, warnings, errorCount, errors: [{line, field, column, value, reason}]}';

export const importRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    path: '/api/imports',
    tag: 'import',
    summary:
      'Import a CSV file (the body, text/csv, at most 10 MiB): a dry run with the error report, or a job.',
    description:
      'Permission by kind: customers customers:write; products and stores catalog:write; staff staff:manage; orders and returns orders:write; touches touches:write; interactions interactions:write; preferences notes:write. Accounts limited to some stores cannot import. `mapping` renames the file’s columns to Kizuna’s. Without strict, valid rows are written in batches and invalid ones are reported (line, field, the file’s column, value, reason); with strict, nothing is written unless every row is valid. Larger files: `kizuna import` (docs/import.md).',
    query: ImportQuery,
    response: ImportResponse,
    responses: {
      200: `dry run: ${RESULT}`,
      202: 'the job {id, kind, file, status: running, totalRows, rowsDone, committedRows…}; Location: /api/imports/:id',
      400: 'invalid query, mapping, missing columns, not UTF-8, malformed CSV',
      403: 'your role cannot write this kind, or your account is limited to some stores',
      413: 'the file is larger than 10 MiB: use kizuna import',
    },
  },
  {
    method: 'GET',
    path: '/api/imports/:id',
    tag: 'import',
    summary:
      'Progress of an import job you started (rows done of total), and its summary and errors when done.',
    description:
      'Jobs live in the server process: they are forgotten after a restart (committed batches stay; importing the file again finishes it and changes nothing twice).',
    params: ImportParams,
    response: ImportJobResponse,
    responses: {
      200: `{id, kind, file, status: running|done|failed, totalRows, rowsDone, committedRows, startedAt, finishedAt, result: ${RESULT} | null, error}`,
      404: 'no such import of yours',
    },
  },
];
