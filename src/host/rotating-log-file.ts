import { closeSync, fstatSync, renameSync, rmSync, writeSync } from 'node:fs';
import { openHomeFileForAppend } from '../core/home-guard.ts';

/** Rotated files kept beside the live one: host.log.1 (newest) … host.log.3 (oldest). */
export const ROTATED_LOG_FILES = 3;

/**
 * An append-only log file that rotates by size: once a line would take it past `maxBytes`, host.log
 * becomes host.log.1 (host.log.1 becomes .2, and so on; the oldest is dropped) and a new host.log is
 * started. Writes are synchronous, like pino's sync destination, so a host killed with SIGKILL loses no
 * line it already logged. A pino destination: pino calls `write` with one serialized line.
 */
export class RotatingLogFile {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #fd: number;
  #size: number;

  constructor(path: string, maxBytes: number, keep = ROTATED_LOG_FILES) {
    this.#path = path;
    this.#maxBytes = maxBytes;
    this.#keep = keep;
    // Never through a link, never a FIFO (core/home-guard.ts): the log is the host's own file.
    this.#fd = openHomeFileForAppend(path, 'the host log');
    this.#size = fstatSync(this.#fd).size;
  }

  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    // A line longer than the limit still goes in whole, into a file of its own.
    if (this.#size > 0 && this.#size + bytes > this.#maxBytes) this.#rotate();
    writeSync(this.#fd, line);
    this.#size += bytes;
    return true;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #rotate(): void {
    closeSync(this.#fd);
    rmSync(`${this.#path}.${this.#keep}`, { force: true });
    for (let index = this.#keep - 1; index >= 1; index -= 1)
      renameIfPresent(`${this.#path}.${index}`, `${this.#path}.${index + 1}`);
    renameIfPresent(this.#path, `${this.#path}.1`);
    this.#fd = openHomeFileForAppend(this.#path, 'the host log');
    // Another process (a host that lost the start race) may have appended meanwhile: count what is there.
    this.#size = fstatSync(this.#fd).size;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
