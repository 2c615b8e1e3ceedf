import { describe, expect, it } from 'vitest';
import {
  isPlumbingTarget,
  latin1ToUtf8,
  planRead,
  servedTargets,
  targetsList,
  UTF8_TEXT,
  utf8ToLatin1,
} from '../../../src/clipboard/x11/x11-targets.js';

const all = (): boolean => true;

describe('planRead: which targets of an owner are read', () => {
  it('reads UTF8_STRING as UTF-8 text and drops the legacy text targets', () => {
    const plan = planRead(['TARGETS', 'UTF8_STRING', 'STRING', 'TEXT', 'COMPOUND_TEXT', 'text/plain', 'TIMESTAMP'], all);
    expect(plan).toEqual([{ target: 'UTF8_STRING', mime: UTF8_TEXT, decoding: 'raw' }]);
  });

  it('prefers text/plain;charset=utf-8 over UTF8_STRING, whatever their order and spelling', () => {
    const plan = planRead(['UTF8_STRING', 'text/plain;charset=UTF-8', 'STRING'], all);
    expect(plan).toEqual([{ target: 'text/plain;charset=UTF-8', mime: UTF8_TEXT, decoding: 'raw' }]);
  });

  it('falls back to STRING as Latin-1 only when there is no UTF-8 form', () => {
    expect(planRead(['TARGETS', 'STRING', 'TEXT'], all)).toEqual([{ target: 'STRING', mime: UTF8_TEXT, decoding: 'latin1' }]);
    expect(planRead(['TEXT', 'COMPOUND_TEXT'], all)).toEqual([]);
  });

  it('passes other targets to accept by their atom name, keeping the owner order', () => {
    const asked: string[] = [];
    const plan = planRead(
      ['TARGETS', 'text/html', 'UTF8_STRING', 'image/png', 'x-kde-passwordManagerHint', 'application/x-junk'],
      (mime) => {
        asked.push(mime);
        return mime !== 'application/x-junk';
      },
    );
    expect(plan.map((p) => p.mime)).toEqual(['text/html', UTF8_TEXT, 'image/png', 'x-kde-passwordManagerHint']);
    expect(asked).toContain('application/x-junk');
    expect(asked).not.toContain('TARGETS');
  });

  it('never reads plumbing targets, even when accept would take anything', () => {
    const plumbing = ['TARGETS', 'TIMESTAMP', 'MULTIPLE', 'SAVE_TARGETS', 'DELETE', 'INCR', 'ATOM', 'INSERT_SELECTION'];
    expect(planRead(plumbing, all)).toEqual([]);
    for (const t of plumbing) expect(isPlumbingTarget(t)).toBe(true);
    expect(isPlumbingTarget('image/png')).toBe(false);
  });

  it('skips text when accept refuses it, and reads text/plain alone only when nothing says UTF-8', () => {
    expect(planRead(['UTF8_STRING', 'text/html'], (m) => m === 'text/html').map((p) => p.target)).toEqual(['text/html']);
    expect(planRead(['text/plain', 'image/png'], all).map((p) => p.target)).toEqual(['text/plain', 'image/png']);
  });

  it('lists a target once even when the owner repeats it', () => {
    expect(planRead(['image/png', 'image/png', 'UTF8_STRING', 'UTF8_STRING'], all)).toHaveLength(2);
  });
});

describe('servedTargets: what clipsync offers while it owns a selection', () => {
  it('offers UTF-8 text under every name old and new toolkits ask for', () => {
    const served = servedTargets([UTF8_TEXT]);
    expect(served.map((s) => s.target)).toEqual([UTF8_TEXT, 'UTF8_STRING', 'text/plain', 'TEXT', 'STRING']);
    expect(served.find((s) => s.target === 'STRING')).toMatchObject({ type: 'STRING', encoding: 'latin1' });
    expect(served.find((s) => s.target === 'TEXT')).toMatchObject({ type: 'UTF8_STRING', encoding: 'raw' });
  });

  it('offers other formats by their media type, first format first, after TARGETS and TIMESTAMP', () => {
    expect(targetsList(['text/html', UTF8_TEXT, 'image/png'])).toEqual([
      'TARGETS',
      'TIMESTAMP',
      'text/html',
      UTF8_TEXT,
      'UTF8_STRING',
      'text/plain',
      'TEXT',
      'STRING',
      'image/png',
    ]);
  });

  it('never offers a plumbing name as a format', () => {
    expect(servedTargets(['TARGETS', 'image/png']).map((s) => s.target)).toEqual(['image/png']);
  });
});

describe('Latin-1 conversions', () => {
  it('turns STRING bytes into UTF-8', () => {
    expect(latin1ToUtf8(Buffer.from([0x63, 0x61, 0x66, 0xe9])).toString('utf8')).toBe('café');
  });

  it('turns UTF-8 into STRING, with ? for what Latin-1 cannot hold', () => {
    expect([...utf8ToLatin1('café ✓ 😀')]).toEqual([...Buffer.from('café ? ?', 'latin1')]);
  });
});
