/**
 * Sesame errors on the gRPC wire (docs/WIRE.md "Errors"): the gRPC status from core's
 * ERROR_TABLE (chosen so the official SDK raises the matching exception class), a human
 * message, and `ErrorInfo.error_code` = Sesame's stable code with field violations, packed in
 * `grpc-status-details-bin`. Anything that is not a SesameError is INTERNAL without details.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { ERROR_TABLE, type ErrorCode } from '@sesame/core';
import { asSesameError } from '../http/error-handler.js';
import {
  ErrorInfoSchema,
  ValidationErrorInfo_FieldViolationSchema,
  ValidationErrorInfoSchema,
} from '../gen/scalekit/v1/errdetails/errdetails_pb.js';

export function toConnectError(error: unknown, requestId: string): ConnectError {
  if (error instanceof ConnectError) return error;
  const sesame = asSesameError(error);
  const code: ErrorCode = sesame?.code ?? 'INTERNAL';
  const message = sesame && code !== 'INTERNAL' ? sesame.message : `Internal error (request ${requestId}).`;
  const headers = new Headers({ 'x-request-id': requestId });
  const retryAfter = sesame?.retryAfterSeconds;
  if (retryAfter !== undefined) headers.set('retry-after', String(retryAfter));
  const info = create(ErrorInfoSchema, {
    errorCode: code,
    validationErrorInfo:
      sesame && sesame.fieldViolations.length > 0
        ? create(ValidationErrorInfoSchema, {
            fieldViolations: sesame.fieldViolations.map((v) =>
              create(ValidationErrorInfo_FieldViolationSchema, { field: v.field, description: v.description }),
            ),
          })
        : undefined,
  });
  return new ConnectError(message, grpcCode(ERROR_TABLE[code].grpc), headers, [{ desc: ErrorInfoSchema, value: info }]);
}

/** Connect's `Code` enum uses the gRPC status numbers; this turns a table number into it. */
const CODES_BY_NUMBER = new Map<number, Code>(
  Object.values(Code)
    .filter((value): value is Code => typeof value === 'number')
    .map((code) => [code, code]),
);

function grpcCode(status: number): Code {
  return CODES_BY_NUMBER.get(status) ?? Code.Internal;
}
