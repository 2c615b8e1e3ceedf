/**
 * Settings shared by the listener and the dialer. Compression is off on purpose: clip data is
 * mostly incompressible or small, and the channel is to carry ciphertext, which deflate only
 * slows down. The payload cap bounds memory per message; clips are sent in chunks well below
 * it, and ws closes with 1009 on anything larger. It also bounds what a stranger can make the
 * daemon buffer before the handshake rejects an oversized message (64 handshakes at most).
 */
export const WS_PATH = '/clipsync';
export const WS_MAX_PAYLOAD = 1024 * 1024;
