/**
 * gRPC `scalekit.v1.auth.passwordless.PasswordlessService`, so the official
 * `@scalekit-sdk/node` works against Sesame with only its URL changed. Each method translates
 * the protobuf message to the same camelCase input the REST routes give core, runs the same
 * operation (../passwordless/operations.ts), and translates the result back: behaviour, metrics
 * and the outbox wake-up are the operation's, identical on both protocols.
 *
 * The methods are protocol-neutral (a message and the call's metadata in, a message out, a
 * ConnectError thrown) so that two transports serve the same code: connect-node's router
 * (`connectRoutes`), and the unary fast path for the SDK's own calls (unary-fast-path.ts).
 */
import { create, type DescMessage, type DescMethodUnary, type Message, type MessageShape } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import type { CallerClient, SendResult } from '@sesame/core';
import { asSesameError } from '../http/error-handler.js';
import type { PasswordlessOperations } from '../passwordless/operations.js';
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
  /** The operations the REST routes run too (the app's `operations`). */
  readonly operations: PasswordlessOperations;
  /** Resolves the caller from the `authorization` header or throws SesameError UNAUTHENTICATED. */
  readonly authenticate: (authorization: string | null) => Promise<CallerClient>;
  readonly newRequestId: () => string;
  /** Observes each call's outcome (method, Sesame code or 'OK'), e.g. for metrics and logs. */
  readonly onCall?: (method: string, outcome: string, durationMs: number) => void;
}

function toSendMessage(result: SendResult): SendPasswordlessResponse {
  return create(SendPasswordlessResponseSchema, {
    authRequestId: result.authRequestId,
    expiresAt: BigInt(Math.floor(result.expiresAt / 1000)),
    expiresIn: result.expiresIn,
    passwordlessType: PasswordlessType[result.passwordlessType],
  });
}

/** What a method sees of its call besides the message, whichever transport carries it. */
export interface CallMeta {
  /** The `authorization` request header, or null when absent (repeats joined with ", ", which no token matches). */
  readonly authorization: string | null;
  /** The caller, when the transport authenticated the call before reading its message (the fast path). */
  readonly caller?: Promise<CallerClient>;
  /** Sets a response header (sent with the answer, whether it succeeds or fails). */
  setResponseHeader(name: string, value: string): void;
}

/** One unary method and its implementation, with the message types erased for a list. */
export interface UnaryMethodImpl {
  readonly method: DescMethodUnary;
  /** Resolves with a message of `method.output`, or rejects with a ConnectError. */
  readonly impl: (request: Message, meta: CallMeta) => Promise<Message>;
}

function unaryMethod<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  impl: (request: MessageShape<I>, meta: CallMeta) => Promise<MessageShape<O>>,
): UnaryMethodImpl {
  // Erasing the types is sound: every transport decodes the request with `method.input` and
  // encodes the answer with `method.output`, the very schemas `impl` is typed by.
  return { method, impl: impl as unknown as UnaryMethodImpl['impl'] };
}

/** The three passwordless methods, for `connectRoutes` and the unary fast path alike. */
export function passwordlessGrpcMethods(deps: GrpcServiceDeps): readonly UnaryMethodImpl[] {
  const { operations } = deps;

  /** Authenticates, runs, and turns any failure into the wire error the SDK understands. */
  async function call<T>(method: string, meta: CallMeta, run: (caller: CallerClient) => Promise<T>): Promise<T> {
    const requestId = deps.newRequestId();
    const started = performance.now();
    meta.setResponseHeader('x-request-id', requestId);
    try {
      const caller = await (meta.caller ?? deps.authenticate(meta.authorization));
      const value = await run(caller);
      deps.onCall?.(method, 'OK', performance.now() - started);
      return value;
    } catch (error) {
      deps.onCall?.(method, asSesameError(error)?.code ?? 'INTERNAL', performance.now() - started);
      throw toConnectError(error, requestId);
    }
  }

  const { sendPasswordlessEmail, verifyPasswordlessEmail, resendPasswordlessEmail } = PasswordlessService.method;
  return [
    unaryMethod(sendPasswordlessEmail, (request, meta) =>
      call('SendPasswordlessEmail', meta, async (caller) => {
        const result = await operations.send(
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
        return toSendMessage(result);
      }),
    ),
    unaryMethod(verifyPasswordlessEmail, (request, meta) =>
      call('VerifyPasswordlessEmail', meta, async (caller) => {
        const credential = request.authCredential;
        const result = await operations.verify(
          {
            code: credential.case === 'code' ? credential.value : undefined,
            linkToken: credential.case === 'linkToken' ? credential.value : undefined,
            // proto3 cannot tell "" from absent for the SDK's `authRequestId ?? ''`; both mean none.
            authRequestId: request.authRequestId === '' ? undefined : request.authRequestId,
          },
          caller,
        );
        return create(VerifyPasswordLessResponseSchema, {
          email: result.email,
          state: result.state ?? undefined,
          template: TemplateType[result.template],
          passwordlessType: PasswordlessType[result.passwordlessType],
        });
      }),
    ),
    unaryMethod(resendPasswordlessEmail, (request, meta) =>
      call('ResendPasswordlessEmail', meta, async (caller) => {
        const result = await operations.resend({ authRequestId: request.authRequestId }, caller);
        return toSendMessage(result);
      }),
    ),
  ];
}

/** The methods as connect-node routes (the reference transport: every protocol and encoding). */
export function connectRoutes(methods: readonly UnaryMethodImpl[]): (router: ConnectRouter) => void {
  return (router) => {
    for (const { method, impl } of methods) {
      router.rpc(method, (request, context) =>
        impl(request, {
          authorization: context.requestHeader.get('authorization'),
          setResponseHeader: (name, value) => context.responseHeader.set(name, value),
        }),
      );
    }
  };
}
