// Query parameters more than one route reads, parsed one way everywhere.
import { z } from '@hono/zod-openapi';

/** `since`/`until`: an ISO 8601 time with a date (`2026-12-01T10:00:00Z`, or a plain date) or epoch milliseconds. */
const TIME = /^(\d{1,15}|\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)$/;

/** Epoch ms of a `since`/`until` value (digits are epoch ms; anything else an ISO time, UTC unless it says). */
export function timeOf(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  return Date.parse(/^\d{4}-\d{2}-\d{2}[T ][0-9:.]+$/.test(value) ? `${value.replace(' ', 'T')}Z` : value);
}

/** An optional time parameter, validated as {@link timeOf} reads it (the value stays a string). */
export const timeParam = (description: string) =>
  z
    .string()
    .refine((value) => TIME.test(value) && Number.isFinite(timeOf(value)), 'must be an ISO 8601 time (e.g. 2026-12-01T10:00:00Z) or epoch milliseconds')
    .optional()
    .openapi({ description, example: '2026-12-01T10:00:00Z' });

/** Whether `POST /actors?dryRun=` asks for a dry run (validate only). */
export const isDryRun = (value: string | undefined): boolean => value === '1' || value === 'true';
