/**
 * gRPC `scalekit.v1.auth.passwordless.PasswordlessService`, so the official
 * `@scalekit-sdk/node` works against Sesame with only its URL changed. Each method translates
 * the protobuf message to the same camelCase input the REST routes give the engine, and the
 * engine's result back; behaviour is the engine's, identical on both protocols.
 */
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import type { CallerClient, Engine, SendResult } from '@sesame/core';
import { asSesameError } from '../errors.js';
import {
  PasswordlessService,
  PasswordlessType,
  SendPasswordlessResponseSchema,
  TemplateType,
  VerifyPasswordLessResponseSchema,
  type SendPasswordlessResponse,
} from '../gen/scalekit/v1/auth/passwordless/passwordless_pb.js';
import { toConnectError } from './errors.js';

export interface GrpcServiceDeps {
  readonly engine: Engine;
  /** Resolves the caller from the `authorization` header or throws SesameError UNAUTHENTICATED. */
  readonly authenticate: (authorization: string | null) => Promise<CallerClient>;
  /** Called after an email was queued, to wake the outbox worker at once. */
  readonly onEmailQueued?: () => void;
  readonly newRequestId: () => string;
  /** Observes each call's outcome (method, Sesame code or 'OK'), e.g. for metrics and logs. */
  readonly onCall?: (method: string, outcome: string, durationMs: number) => void;
}

function toSendResponse(result: SendResult): SendPasswordlessResponse {
  return create(SendPasswordlessResponseSchema, {
    authRequestId: result.authRequestId,
    expiresAt: BigInt(Math.floor(result.expiresAt / 1000)),
    expiresIn: result.expiresIn,
    passwordlessType: PasswordlessType[result.passwordlessType],
  });
}

export function passwordlessGrpcRoutes(deps: GrpcServiceDeps): (router: ConnectRouter) => void {
  const { engine } = deps;

  /** Authenticates, runs, and turns any failure into the wire error the SDK understands. */
  async function call<T>(method: string, context: HandlerContext, run: (caller: CallerClient) => Promise<T>): Promise<T> {
    const requestId = deps.newRequestId();
    const started = performance.now();
    context.responseHeader.set('x-request-id', requestId);
    try {
      const caller = await deps.authenticate(context.requestHeader.get('authorization'));
      const value = await run(caller);
      deps.onCall?.(method, 'OK', performance.now() - started);
      return value;
    } catch (error) {
      deps.onCall?.(method, asSesameError(error)?.code ?? 'INTERNAL', performance.now() - started);
      throw toConnectError(error, requestId);
    }
  }

  return (router) => {
    router.service(PasswordlessService, {
      sendPasswordlessEmail: (request, context) =>
        call('SendPasswordlessEmail', context, async (caller) => {
          const result = await engine.send(
            {
              email: request.email,
              // Enum numbers go to core as they are: 0 means the default, unknown ones are refused.
              template: request.template,
              magiclinkAuthUri: request.magiclinkAuthUri,
              state: request.state,
              expiresIn: request.expiresIn,
              templateVariables: request.templateVariables,
            },
            caller,
          );
          deps.onEmailQueued?.();
          return toSendResponse(result);
        }),

      verifyPasswordlessEmail: (request, context) =>
        call('VerifyPasswordlessEmail', context, async () => {
          const credential = request.authCredential;
          const result = await engine.verify({
            code: credential.case === 'code' ? credential.value : undefined,
            linkToken: credential.case === 'linkToken' ? credential.value : undefined,
            // proto3 cannot tell "" from absent for the SDK's `authRequestId ?? ''`; both mean none.
            authRequestId: request.authRequestId === '' ? undefined : request.authRequestId,
          });
          return create(VerifyPasswordLessResponseSchema, {
            email: result.email,
            state: result.state ?? undefined,
            template: TemplateType[result.template],
            passwordlessType: PasswordlessType[result.passwordlessType],
          });
        }),

      resendPasswordlessEmail: (request, context) =>
        call('ResendPasswordlessEmail', context, async () => {
          const result = await engine.resend({ authRequestId: request.authRequestId });
          deps.onEmailQueued?.();
          return toSendResponse(result);
        }),
    });
  };
}
