import { describe, expect, it } from 'vitest';
import { isClipsyncError } from '../../../src/core/errors.js';
import { isAddressSelector, pickBySelector, safePeerName } from '../../../src/pairing/pairing-target.js';

const peers = [
  { name: 'laptop', fingerprint: 'SHA256:aaa' },
  { name: 'desktop', fingerprint: 'SHA256:bbb' },
  { name: 'twin', fingerprint: 'SHA256:ccc' },
  { name: 'twin', fingerprint: 'SHA256:ddd' },
];

describe('pickBySelector', () => {
  it('finds by exact fingerprint, with or without SHA256:', () => {
    expect(pickBySelector(peers, 'SHA256:bbb')?.name).toBe('desktop');
    expect(pickBySelector(peers, 'bbb')?.name).toBe('desktop');
  });

  it('finds by exact name', () => {
    expect(pickBySelector(peers, 'laptop')?.fingerprint).toBe('SHA256:aaa');
    expect(pickBySelector(peers, 'lap')).toBeUndefined();
  });

  it('refuses an ambiguous name, naming the fingerprints to use', () => {
    let err: unknown;
    try {
      pickBySelector(peers, 'twin');
    } catch (e) {
      err = e;
    }
    expect(isClipsyncError(err) && err.code).toBe('CLIPSYNC_ERR_PAIRING');
    expect(isClipsyncError(err) && err.hint).toContain('SHA256:ccc');
    expect(pickBySelector(peers, 'SHA256:ddd')?.name).toBe('twin');
  });

  it('takes one key listed twice under one name as one peer', () => {
    expect(pickBySelector([...peers, { name: 'laptop', fingerprint: 'SHA256:aaa' }], 'laptop')?.fingerprint).toBe('SHA256:aaa');
  });

  it('tells addresses from names', () => {
    expect(isAddressSelector('tcp://127.0.0.1:1')).toBe(true);
    expect(isAddressSelector('unix:/tmp/x.sock')).toBe(true);
    expect(isAddressSelector('laptop')).toBe(false);
    expect(isAddressSelector('SHA256:aaa')).toBe(false);
  });
});

describe('safePeerName', () => {
  it('keeps ordinary names, Unicode included', () => {
    expect(safePeerName('laptop')).toBe('laptop');
    expect(safePeerName('Zoë’s Mac')).toBe('Zoë’s Mac');
  });

  it('defuses terminal escapes and bidi tricks a stranger could use to redraw the code', () => {
    expect(safePeerName('evil\u001b[2K\rcode: 123 456')).toBe('evil?[2K code: 123 456');
    expect(safePeerName('lap\u202Epot')).toBe('lap?pot');
    expect(safePeerName('a\u0085b\u009bc')).toBe('a?b?c');
  });

  it('collapses whitespace, as trusted_keys comments must be one line', () => {
    expect(safePeerName('  two\n lines\t')).toBe('two lines');
  });
});
