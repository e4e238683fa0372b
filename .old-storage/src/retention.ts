/**
 * How long the sliding-window logs must be kept: as long as the longest window the policy
 * allows (packages/core/src/policy.ts), so pruning can never shorten a configured window.
 */
import { DAY_MS } from '@sesame/core';

/** `emailsPerAddress.windowMs` is at most one day. */
export const SEND_LOG_RETENTION_MS = DAY_MS;
/** `failedOtpPerAddress.windowMs` may be up to seven days (the default is one). */
export const OTP_FAILURE_RETENTION_MS = 7 * DAY_MS;
