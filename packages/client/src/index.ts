export {
  SesameClient,
  type PasswordlessTemplate,
  type PasswordlessType,
  type SendInput,
  type SendResult,
  type SesameClientOptions,
  type VerifyInput,
  type VerifyResult,
} from './client.js';
export {
  SESAME_ERROR_CODES,
  SesameApiError,
  isSesameApiError,
  isSesameErrorCode,
  type FieldViolation,
  type SesameErrorCode,
} from './errors.js';
