import { describe, expect, it } from 'vitest';
import { ConnectionLifecycle } from '../../../src/protocol/connection-state.js';

describe('ConnectionLifecycle', () => {
  it('moves forward through the states, skipping those a connection never passed', () => {
    const life = new ConnectionLifecycle('connecting');
    life.enter('authenticating');
    expect(life.state).toBe('authenticating');
    life.enter('closing'); // the handshake failed: never open
    expect(life.state).toBe('closing');
    life.enter('closed');
    expect(life.state).toBe('closed');
  });

  it('never moves back: a handshake that finishes after the close began leaves it closing', () => {
    const life = new ConnectionLifecycle('authenticating');
    life.enter('closing');
    life.enter('open');
    life.enter('authenticating');
    expect(life.state).toBe('closing');
  });

  it('tells whether a state is still ahead', () => {
    const life = new ConnectionLifecycle('open');
    expect(life.before('closing')).toBe(true);
    expect(life.before('open')).toBe(false);
    life.enter('closing');
    expect(life.before('closing')).toBe(false);
  });
});
