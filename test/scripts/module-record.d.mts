/** Types of module-record.mjs (plain JavaScript, so that the built package's script can use it under plain Node). */
export function recordModules(logFile: string): void;
export function recordedModules(logFile: string): string[];
