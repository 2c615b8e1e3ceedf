import { describe, expect, it } from 'vitest';
import { DialTarget } from '../../../src/peers/dial-target.js';

describe('DialTarget addresses of a discovered peer', () => {
  it('dials the first address and moves on to the next after a failed dial, round and round', () => {
    const target = new DialTarget({ kind: 'tcp', host: '10.0.0.2', port: 25470 }, 'mdns');
    target.moveTo({ kind: 'tcp', host: '10.0.0.2', port: 25470 }, [{ kind: 'tcp', host: 'fd77::2', port: 25470 }]);
    expect(target.address).toBe('tcp://10.0.0.2:25470');
    target.rotate();
    expect(target.address).toBe('tcp://[fd77::2]:25470');
    target.rotate();
    expect(target.address).toBe('tcp://10.0.0.2:25470');
  });

  it('keeps a single address as it is', () => {
    const target = new DialTarget({ kind: 'unix', path: '/tmp/x.sock' });
    target.rotate();
    expect(target.address).toBe('unix:/tmp/x.sock');
  });
});
