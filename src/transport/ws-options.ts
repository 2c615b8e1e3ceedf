/**
 * Settings shared by the listener and the dialer. Compression is off on purpose: clips are
 * encrypted (issue 3) and deflating ciphertext costs CPU for nothing. The payload cap bounds
 * memory per message; clips are sent in chunks well below it.
 */
export const WS_PATH = '/clipsync';
export const WS_MAX_PAYLOAD = 4 * 1024 * 1024;
