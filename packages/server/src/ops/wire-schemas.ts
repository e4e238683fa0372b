/** The operations routes' answers on the wire: health, readiness, and the development inbox. */
import { z } from 'zod';

const isoTime = z.string().meta({ format: 'date-time' });

export const healthSchema = z.object({ status: z.literal('ok') });
export const readySchema = z.object({ status: z.literal('ready') });
export const notReadySchema = z.object({ status: z.literal('not_ready') });

export const devInboxMessageSchema = z.object({
  id: z.string(),
  outbox_id: z.string().nullable(),
  to: z.string(),
  from: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  created_at: isoTime,
});

export const devInboxListSchema = z.object({ messages: z.array(devInboxMessageSchema) });

/** `GET /admin/api/dev-inbox?limit=`: out-of-range or unreadable values are clamped, never refused. */
export const devInboxQuerySchema = z.object({ limit: z.int().min(1).max(200).default(50).optional() });

export const OPS_CATALOG = {
  requests: {},
  responses: {
    Health: healthSchema,
    Ready: readySchema,
    NotReady: notReadySchema,
    DevInboxMessage: devInboxMessageSchema,
    DevInboxList: devInboxListSchema,
  },
};

export type InboxMessage = z.output<typeof devInboxMessageSchema>;
export type InboxList = z.output<typeof devInboxListSchema>;
