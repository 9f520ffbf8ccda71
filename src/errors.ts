/**
 * Error codes carried by every {@link RpcxError}. Go rpcx has no such table (it uses plain
 * `error` values); the codes let callers branch without parsing texts.
 */
export const ErrorCode = {
  /** A frame or payload that does not follow the rpcx wire format. */
  PROTOCOL: 'PROTOCOL',
  /** A configured limit (message size, metadata entries, pending calls, decompressed size) was hit. */
  LIMIT: 'LIMIT',
  /** A codec could not encode or decode a value. */
  CODEC: 'CODEC',
  /** The connection failed, closed, or could not be made. */
  CONNECTION: 'CONNECTION',
  /** A deadline passed before the reply arrived. */
  TIMEOUT: 'TIMEOUT',
  /** The caller aborted the call. */
  CANCELLED: 'CANCELLED',
  /** The server answered with an error (`__rpcx_error__`); see {@link ServiceError}. */
  SERVICE: 'SERVICE',
  /** The server refused the auth token. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** An argument or option given by the caller is invalid. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** Something that should not happen happened. */
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface RpcxErrorOptions {
  cause?: unknown;
  /** Byte offset in the frame where a protocol error was found. */
  offset?: number;
  /** Field of the frame or message the error is about. */
  field?: string;
}

/**
 * The one error class of this library. Every failure surfaces as an `RpcxError` with a
 * {@link ErrorCode}; Go rpcx reports the same conditions as plain `error` values.
 */
export class RpcxError extends Error {
  readonly code: ErrorCode;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: RpcxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = options.offset;
    this.field = options.field;
  }

  override get name(): string {
    return 'RpcxError';
  }

  /** Wraps anything thrown into an `RpcxError`, keeping an existing one as it is. */
  static from(reason: unknown, code: ErrorCode = ErrorCode.INTERNAL): RpcxError {
    if (reason instanceof RpcxError) return reason;
    if (reason instanceof Error) return new RpcxError(code, reason.message, { cause: reason });
    return new RpcxError(code, String(reason), { cause: reason });
  }
}

/**
 * An error reply from the server: response status Error with the text of `__rpcx_error__`
 * (Go's `protocol.ServiceError` / `client.ServiceError`). The text is Go's, verbatim.
 */
export class ServiceError extends RpcxError {
  /** Response metadata, `__rpcx_error__` included. */
  readonly metadata: Map<string, string>;
  /** The reply payload Go sends with a method error, decoded when a codec was given. */
  readonly reply: unknown;

  /**
   * `code` is `SERVICE`, or `UNAUTHENTICATED` when the client recognised the text as an auth
   * rejection (`ClientOptions.isAuthError`): rpcx marks nothing else on the wire.
   */
  constructor(message: string, metadata: Map<string, string> = new Map(), reply?: unknown, code: typeof ErrorCode.SERVICE | typeof ErrorCode.UNAUTHENTICATED = ErrorCode.SERVICE) {
    super(code, message);
    this.metadata = metadata;
    this.reply = reply;
  }

  override get name(): string {
    return 'ServiceError';
  }
}
