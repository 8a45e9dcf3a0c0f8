/**
 * The id the host gave a spool file it created (`createSpool`); only the host turns it into a path.
 * Apart from operation-extras.ts (zod schemas) so the engine's spools read it without loading zod.
 */
export const SPOOL_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
