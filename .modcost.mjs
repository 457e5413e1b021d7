import { readFileSync } from 'node:fs';
const rss = () => { const s = readFileSync('/proc/self/status','utf8'); const g=(k)=>+s.match(new RegExp(k+':\\s+(\\d+)'))[1]/1024; return {rss:g('VmRSS'),anon:g('RssAnon'),file:g('RssFile')}; };
const specs = process.argv.slice(2);
for (const s of specs) await import(s);
await new Promise(r=>setTimeout(r,300)); globalThis.gc?.(); globalThis.gc?.();
const m = rss(); const h = process.memoryUsage();
console.log(JSON.stringify({ specs: specs.join(','), rss: m.rss.toFixed(1), anon: m.anon.toFixed(1), file: m.file.toFixed(1), heapUsed: (h.heapUsed/1048576).toFixed(1), heapTotal: (h.heapTotal/1048576).toFixed(1) }));
