import { describe, expect, it } from 'vitest';
import { parseTypeList, planReads, richestType, TEXT_MIME } from '../../../src/clipboard/wayland/mime-types.js';

const all = (): boolean => true;

describe('planReads', () => {
  it("reads wl-copy's five text aliases once, as UTF-8 text, asking for the UTF-8 one", () => {
    expect(planReads(['text/plain', TEXT_MIME, 'TEXT', 'STRING', 'UTF8_STRING'], all)).toEqual([{ mime: TEXT_MIME, request: TEXT_MIME }]);
  });

  it('prefers UTF8_STRING over undeclared text/plain when no charset is declared', () => {
    expect(planReads(['STRING', 'text/plain', 'UTF8_STRING'], all)).toEqual([{ mime: TEXT_MIME, request: 'UTF8_STRING' }]);
    expect(planReads(['TEXT'], all)).toEqual([{ mime: TEXT_MIME, request: 'TEXT' }]);
  });

  it("keeps the owner's order, skips duplicates and what accept refuses", () => {
    const accept = (m: string): boolean => m !== 'application/x-junk';
    expect(planReads(['text/html', 'image/png', 'text/plain', 'image/png', 'application/x-junk', 'x-kde-passwordManagerHint'], accept)).toEqual([
      { mime: 'text/html', request: 'text/html' },
      { mime: 'image/png', request: 'image/png' },
      { mime: TEXT_MIME, request: 'text/plain' },
      { mime: 'x-kde-passwordManagerHint', request: 'x-kde-passwordManagerHint' },
    ]);
  });

  it('asks accept about text under its one name', () => {
    const asked: string[] = [];
    planReads(['UTF8_STRING', 'text/plain'], (m) => (asked.push(m), false));
    expect(asked).toEqual([TEXT_MIME]);
  });

  it('parses a type list', () => {
    expect(parseTypeList('text/plain\nimage/png\n\n')).toEqual(['text/plain', 'image/png']);
  });
});

describe('richestType', () => {
  const f = (mime: string): { mime: string } => ({ mime });
  it('picks an image, else UTF-8 text, else any text name, else HTML, else the first', () => {
    expect(richestType([f('text/html'), f(TEXT_MIME), f('image/png')])?.mime).toBe('image/png');
    expect(richestType([f('text/html'), f(TEXT_MIME)])?.mime).toBe(TEXT_MIME);
    expect(richestType([f('text/html'), f('text/plain')])?.mime).toBe('text/plain');
    expect(richestType([f('application/rtf'), f('text/html')])?.mime).toBe('text/html');
    expect(richestType([f('application/rtf'), f('application/x-other')])?.mime).toBe('application/rtf');
    expect(richestType([])).toBeUndefined();
  });
});
