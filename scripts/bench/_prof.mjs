import { benchStream } from './stream.mjs';
process.env.BENCH_STREAM_RUNS='3';
const r = await benchStream();
console.log(r.rows.map(x=>x.mode+' '+(x.median/1e9).toFixed(3)).join('\n'));
await new Promise(r=>setTimeout(r,500));
