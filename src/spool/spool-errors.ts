import { fail, type ClipsyncError } from '../core/errors.js';

/**
 * Spool failures, each with the code a script can match and a hint that says what to do.
 * File system errors are translated once, here, so every spool operation reports a full disk
 * the same way.
 */

/** A write, sync or rename in the spool failed. `doing` completes "while …". */
export function spoolIoError(err: unknown, doing: string, dir: string, what = 'the spool'): ClipsyncError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return fail('CLIPSYNC_ERR_DISK_FULL', `the disk holding ${what} (${dir}) is full (while ${doing})`, {
      hint: 'free some disk space there (or set a smaller maximum clip size), then copy the clip again',
      cause: err,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return fail('CLIPSYNC_ERR_SPOOL', `cannot write to the spool directory ${dir} (${code} while ${doing})`, {
      hint: `make it writable by you (chmod 700 ${dir}) or choose another home with --home`,
      cause: err,
    });
  }
  return fail('CLIPSYNC_ERR_SPOOL', `spool error while ${doing}: ${code ?? (err instanceof Error ? err.message : String(err))}`, {
    hint: `check the disk holding ${dir}; the clip was not kept`,
    cause: err,
  });
}

export function badIdError(id: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_TRANSFER', `"${id.slice(0, 80)}" is not a clip id (64 lowercase hex digits)`);
}

export function busyError(id: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_TRANSFER', `clip ${id.slice(0, 16)}… is already being received`, {
    hint: 'finish or abort the first transfer before starting another for the same clip',
  });
}

export function notSpooledError(id: string, dir: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_SPOOL', `clip ${id.slice(0, 16)}… is not in the spool ${dir}`, {
    hint: 'it was cleaned up or never stored; copy it again',
  });
}

export function closedError(id: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_SPOOL', `the incoming spool file for clip ${id.slice(0, 16)}… is already finished or aborted`);
}

/** The file a local copy was being made from changed after it was hashed: the clip's bytes are gone. */
export function fileChangedError(path: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_FILE_CHANGED', `${path} changed while it was being copied; the clip could not be kept`, {
    hint: 'copy it again once nothing is writing to it (or copy a snapshot: cp it elsewhere first)',
  });
}

/** A local copy whose clip was refused before its copy was made: nothing of it is kept. */
export function fileNotKeptError(path: string): ClipsyncError {
  return fail('CLIPSYNC_ERR_FILE_CHANGED', `${path} was not copied`, { hint: 'copy it again' });
}
