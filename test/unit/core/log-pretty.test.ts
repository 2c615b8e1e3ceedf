import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { formatPrettyLine, prettyDestination } from '../../../src/core/log-pretty.js';

const FP = 'SHA256:Hk1CUgc/QXvePFzpVJsafqFPqPYRaKLhCgoPuQZaYAU';

/** What the local clock shows for an epoch time, as the formatter writes it. */
function local(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

describe('pretty log lines', () => {
  it('writes local time, level word, component, message, then key=value fields', () => {
    const time = Date.UTC(2026, 11, 5, 12, 3, 4, 5);
    const line = formatPrettyLine({ level: 40, time, pid: 77, component: 'peers', msg: 'dial failed', address: 'tcp://desktop:25470', attempt: 3, fingerprint: FP, refused: false });
    expect(line).toBe(`${local(time)} WARN  peers: dial failed address=tcp://desktop:25470 attempt=3 fingerprint=SHA256:Hk1CUgc/QX… refused=false`);
  });

  it('quotes what has spaces, shows errors by their message, arrays and objects compactly', () => {
    const line = formatPrettyLine({
      level: 50,
      time: 0,
      msg: 'read failed',
      err: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', stack: 'Error: connect…\n    at …' },
      reason: 'chosen with --clipboard memory',
      empty: '',
      listen: ['tcp://127.0.0.1:1', 'unix:/tmp/a b'],
      peers: [FP],
      counts: { connected: 1, known: 2 },
      nothing: null,
    });
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR read failed /);
    expect(line.split(' read failed ')[1]).toBe(
      'err="connect ECONNREFUSED 127.0.0.1:1" reason="chosen with --clipboard memory" empty="" listen=[tcp://127.0.0.1:1,unix:/tmp/a b] peers=[SHA256:Hk1CUgc/QX…] counts={"connected":1,"known":2} nothing=null',
    );
    expect(formatPrettyLine({ level: 30, time: 0, msg: 'ok' })).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  ok$/);
    expect(formatPrettyLine({ level: 10, time: 0, msg: 'x', component: 'ipc' })).toMatch(/ TRACE ipc: x$/);
  });

  it('is a pino destination: one line per record, a line pino did not make passed on as it is', () => {
    const out: string[] = [];
    const log = pino({ level: 'debug', base: { pid: 1 } }, prettyDestination((text) => out.push(text)));
    log.child({ component: 'daemon' }).info({ name: 'vm' }, 'daemon ready');
    log.debug(new Error('boom'), 'failed');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  daemon: daemon ready name=vm\n$/);
    expect(out[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG failed err=boom\n$/);
    const raw: string[] = [];
    prettyDestination((text) => raw.push(text)).write('not json\n');
    expect(raw).toEqual(['not json\n']);
  });
});
