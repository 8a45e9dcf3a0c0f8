import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ERROR_DEFINITIONS, type ErrorCode } from '../../src/core/errors.ts';
import { checkError, checkHeaders, checkResponse, checkTask } from '../../src/store/column-checks.ts';

/** The zod schemas the store read its JSON columns with before the hand checks; these must agree. */
const headersSchema = z.array(z.tuple([z.string(), z.string()]));
const responseSchema = z.object({
  statusCode: z.number().int(),
  actualUri: z.string(),
  isResumable: z.boolean(),
  headers: headersSchema,
  bodyTruncated: z.boolean().optional(),
});
const errorSchema = z.object({
  code: z.custom<ErrorCode>((value) => typeof value === 'string' && Object.hasOwn(ERROR_DEFINITIONS, value)),
  message: z.string(),
  httpStatus: z.number().int().optional(),
});
const taskSchema = z.object({ command: z.string(), args: z.array(z.string()), cwd: z.string().nullable() });

function agrees(check: (value: unknown) => unknown, schema: z.ZodType, samples: unknown[]): void {
  for (const sample of samples) {
    const zod = schema.safeParse(sample);
    assert.deepEqual(check(sample), zod.success ? zod.data : undefined, JSON.stringify(sample));
  }
}

const COMMON_BAD = [null, [], 'x', 3, true];

test('checkHeaders agrees with the headers schema', () => {
  agrees(checkHeaders, headersSchema, [
    ...COMMON_BAD,
    [],
    [['a', 'b']],
    [
      ['a', 'b'],
      ['c', ''],
    ],
    [['a']],
    [['a', 'b', 'c']],
    [['a', 1]],
    [null],
    {},
  ]);
});

test('checkResponse agrees with the response schema', () => {
  const ok = { statusCode: 200, actualUri: 'http://h/', isResumable: false, headers: [['a', 'b']] };
  agrees(checkResponse, responseSchema, [
    ...COMMON_BAD,
    ok,
    { ...ok, bodyTruncated: true },
    { ...ok, bodyTruncated: 'no' },
    { ...ok, extra: 1 },
    { ...ok, statusCode: 200.5 },
    { ...ok, statusCode: '200' },
    { ...ok, statusCode: 2 ** 60 },
    { ...ok, headers: [['a']] },
    { ...ok, isResumable: null },
    { statusCode: 200, actualUri: 'x', isResumable: true },
  ]);
});

test('checkError agrees with the error schema', () => {
  agrees(checkError, errorSchema, [
    ...COMMON_BAD,
    { code: 'BT_ERR_STORE', message: 'm' },
    { code: 'BT_ERR_STORE', message: 'm', httpStatus: 503, extra: 1 },
    { code: 'BT_ERR_STORE', message: 'm', httpStatus: 5.5 },
    { code: 'BT_ERR_STORE', message: 'm', httpStatus: null },
    { code: 'BT_ERR_NOT_A_CODE', message: 'm' },
    { code: 'toString', message: 'm' },
    { code: 'BT_ERR_STORE' },
    { code: 'BT_ERR_STORE', message: 3 },
  ]);
});

test('checkTask agrees with the task schema', () => {
  agrees(checkTask, taskSchema, [
    ...COMMON_BAD,
    { command: 'c', args: [], cwd: null },
    { command: 'c', args: ['a', 'b'], cwd: '/w', extra: 1 },
    { command: 'c', args: ['a', 1], cwd: null },
    { command: 'c', args: [], cwd: undefined },
    { command: 'c', cwd: null },
    { command: 1, args: [], cwd: null },
  ]);
});
