import { WS_MAX_PAYLOAD } from '../transport/ws-options.js';

/**
 * The most body bytes one frame carries (a DATA frame's chunk of a clip): as large as the ws
 * message cap allows, less room for the frame header and the AEAD tag. Per-frame cost
 * (parsing, events, a write and a credit each) dominated the receiver at 256 KiB; 960 KiB
 * frames moved a clip about a third faster (docs/BENCHMARKS.md). The protocol owns this limit
 * because it owns the message size; senders above it ask the connection, never compute it.
 */
export const MAX_DATA_BODY_BYTES = WS_MAX_PAYLOAD - 64 * 1024;
