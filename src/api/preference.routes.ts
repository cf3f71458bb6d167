import { z } from 'zod';
import {
  addPreferenceNote,
  listPreferenceNotes,
  markPreferenceObsolete,
  OBSOLETE_REASON_MAX,
  PreferenceNoteFields,
} from '../customers/index.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const PreferenceListQuery = z.object({
  includeObsolete: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
});

/** `{ note }` or `{ key, value, note? }`, and the store it is written at (default: the writer's own). */
export const PreferenceNoteBody = z.object({
  ...PreferenceNoteFields.shape,
  storeId: z.number().int().positive().optional(),
});

export const NoteParams = CustomerKeyParams.extend({
  noteId: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be a positive note id')
    .transform(Number),
});

export const ObsoleteBody = z.object({ reason: z.string().max(OBSOLETE_REASON_MAX).optional() });

/** The preference notebook: read by anyone who may read the customer, written with notes:write. */
export const preferenceRoutes: RouteModule = (app, { database }) => {
  app.get(
    '/api/customers/:id/preferences',
    allow('customers:read', { personalData: true }),
    async (request) => {
      const customerId = await customerFromParams(request, database);
      const query = parseInput(PreferenceListQuery, request.query);
      return {
        notes: await listPreferenceNotes(database, customerId, { includeObsolete: query.includeObsolete }),
      };
    },
  );

  app.post('/api/customers/:id/preferences', allow('notes:write'), async (request, reply) => {
    const customerId = await customerFromParams(request, database);
    const { storeId, ...fields } = parseInput(PreferenceNoteBody, request.body ?? {});
    const note = await addPreferenceNote(database, actorOf(request), customerId, fields, storeId);
    request.audit.target = `preference:${note.id}`;
    reply.status(201);
    return { note };
  });

  app.post('/api/customers/:id/preferences/:noteId/obsolete', allow('notes:write'), async (request) => {
    const customerId = await customerFromParams(request, database);
    const { noteId } = parseInput(NoteParams, request.params);
    const { reason } = parseInput(ObsoleteBody, request.body ?? {});
    request.audit.target = `preference:${noteId}`;
    return { note: await markPreferenceObsolete(database, actorOf(request), customerId, noteId, reason) };
  });
};

export const preferenceRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/customers/:id/preferences',
    tag: 'preferences',
    summary: "The customer's preference notes, newest first, with author, store and date.",
    description: 'Obsolete notes (with who marked them and why) only with `includeObsolete=true`.',
    params: CustomerKeyParams,
    query: PreferenceListQuery,
    responses: { 200: '{notes}', 403: 'not a customer of your stores', 404: 'no such customer' },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/preferences',
    tag: 'preferences',
    summary:
      "Write a note in the customer's notebook: `{note}` or `{key, value, note?}`, optionally `storeId`.",
    description:
      'The author is the signed-in staff member (none for an API token). The store defaults to your own; a store-limited account may name only its stores. Keys are stored lower-case.',
    params: CustomerKeyParams,
    body: PreferenceNoteBody,
    responses: {
      201: '{note}',
      400: 'invalid note (field says which)',
      403: 'not a customer of your stores, or not one of your stores',
      404: 'no such customer or store',
      409: 'the customer has been erased',
    },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/preferences/:noteId/obsolete',
    tag: 'preferences',
    summary: 'Mark a note as no longer true. Nothing is deleted; who marked it, when and why are kept.',
    params: NoteParams,
    body: ObsoleteBody,
    responses: {
      200: '{note}',
      403: 'not a customer of your stores',
      404: 'no such customer or note',
      409: 'the note is already obsolete',
    },
  },
];
