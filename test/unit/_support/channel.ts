import { Opener, Sealer } from '../../../src/secure/channel.js';
import { randomBytes } from '../../../src/secure/sodium.js';

/** Unit-test support: one direction of the secure channel, both ends keyed alike. */
export interface ChannelEnds {
  key: Buffer;
  sealer: Sealer;
  /** A new opener for the same direction, at the start of the stream. */
  newOpener(): Opener;
}

export function channel(key: Buffer = randomBytes(32)): ChannelEnds {
  const sealer = new Sealer(key);
  return { key, sealer, newOpener: () => new Opener(key) };
}
