/**
 * The REST error body on the wire (docs/WIRE.md "Errors"), as a schema: every API of this server
 * answers a refusal with it, and /openapi.json describes it from here.
 */
import { ERROR_CODES } from '@sesame/core';
import { z } from 'zod';
import { TRANSPORT_ERROR_CODES } from './error-handler.js';

export const fieldViolationSchema = z.object({ field: z.string(), description: z.string() });

export const errorBodySchema = z
  .object({
    error: z.object({
      /** Core's codes and the HTTP layer's own: stable, for callers to switch on. */
      code: z.enum([...ERROR_CODES, ...TRANSPORT_ERROR_CODES]),
      message: z.string(),
      request_id: z.string(),
      field_violations: z.array(fieldViolationSchema),
    }),
  })
  .meta({ description: 'Every refusal: a stable code, a message, the request id, and the offending fields (INVALID_ARGUMENT).' });

export type FieldViolation = z.output<typeof fieldViolationSchema>;
export type WireError = z.output<typeof errorBodySchema>;
