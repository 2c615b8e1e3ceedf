/**
 * Every error clipsync raises on purpose carries a stable `code` (CLIPSYNC_ERR_*) that
 * scripts and tests can match on, a one-sentence message for people, and an optional hint
 * that says what to do next. The CLI maps `exitCode` straight to the process exit status.
 */

/** Process exit statuses; part of the CLI contract. */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  daemonNotRunning: 3,
  nothingToPaste: 4,
  /** A lazy clip's bytes could not be fetched from the peer that holds them. */
  notFetched: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'CLIPSYNC_ERR_USAGE'
  | 'CLIPSYNC_ERR_CONFIG'
  | 'CLIPSYNC_ERR_IDENTITY'
  | 'CLIPSYNC_ERR_KEY_PARSE'
  | 'CLIPSYNC_ERR_TRUST'
  | 'CLIPSYNC_ERR_ADDRESS'
  | 'CLIPSYNC_ERR_LISTEN'
  | 'CLIPSYNC_ERR_ALREADY_RUNNING'
  | 'CLIPSYNC_ERR_NOT_RUNNING'
  | 'CLIPSYNC_ERR_NOTHING_TO_PASTE'
  | 'CLIPSYNC_ERR_CLIP_TOO_LARGE'
  | 'CLIPSYNC_ERR_DELIVERY'
  | 'CLIPSYNC_ERR_PROTOCOL'
  | 'CLIPSYNC_ERR_HANDSHAKE'
  | 'CLIPSYNC_ERR_CLIPBOARD'
  | 'CLIPSYNC_ERR_IPC'
  | 'CLIPSYNC_ERR_NO_ROUTE'
  | 'CLIPSYNC_ERR_SPOOL'
  | 'CLIPSYNC_ERR_DISK_FULL'
  | 'CLIPSYNC_ERR_TRANSFER'
  | 'CLIPSYNC_ERR_HASH_MISMATCH'
  | 'CLIPSYNC_ERR_FILE_CHANGED'
  | 'CLIPSYNC_ERR_FILE_UNREADABLE'
  | 'CLIPSYNC_ERR_NOT_FETCHED'
  | 'CLIPSYNC_ERR_PAIRING'
  | 'CLIPSYNC_ERR_UNKNOWN_PEER'
  | 'CLIPSYNC_ERR_NO_SUCH_CLIP'
  | 'CLIPSYNC_ERR_BAD_MANIFEST'
  | 'CLIPSYNC_ERR_NOT_FILES'
  | 'CLIPSYNC_ERR_EXISTS'
  | 'CLIPSYNC_ERR_INTERNAL';

const exitCodeFor: Partial<Record<ErrorCode, ExitCodeValue>> = {
  CLIPSYNC_ERR_USAGE: ExitCode.usage,
  CLIPSYNC_ERR_NOT_RUNNING: ExitCode.daemonNotRunning,
  CLIPSYNC_ERR_NOTHING_TO_PASTE: ExitCode.nothingToPaste,
  CLIPSYNC_ERR_NOT_FETCHED: ExitCode.notFetched,
};

export class ClipsyncError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClipsyncError';
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): ExitCodeValue {
    return exitCodeFor[this.code] ?? ExitCode.error;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Shorthand used across modules: `throw fail('CLIPSYNC_ERR_CONFIG', '…')`. */
export function fail(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }): ClipsyncError {
  return new ClipsyncError(code, message, options);
}

export function isClipsyncError(err: unknown): err is ClipsyncError {
  return err instanceof ClipsyncError;
}

/** The message of any thrown value, for log lines and one-sentence CLI errors. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Why a file could not be read, in words: for messages that name the file (`cannot read PATH (…)`). */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? 'error';
}
