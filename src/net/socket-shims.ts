import type { Socket } from 'node:net';
import type { buildConnector as BuildConnector } from 'undici';
import { supportExpectContinue } from './expect-continue.ts';
import { deferWriteErrors } from './read-before-write-error.ts';

/**
 * undici's connector, with two changes to every socket it hands to undici: an answer that arrived
 * before a write error is read first (read-before-write-error.ts), and `Expect: 100-continue` works
 * (expect-continue.ts).
 */
export function withSocketShims(connect: BuildConnector.connector): BuildConnector.connector {
  return (options, callback) => {
    connect(options, (...args) => {
      if (args[0] === null) {
        const socket: Socket = args[1];
        deferWriteErrors(socket);
        supportExpectContinue(socket);
      }
      callback(...args);
    });
  };
}
