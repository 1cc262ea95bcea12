/**
 * The fair Node baseline: file -> socket -> file over loopback with 1 MiB buffers on every
 * stream, nothing verified. Run as `node node-pipe.mjs <source> <dest>`; prints elapsed ms.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;
const [source, dest] = process.argv.slice(2);
const server = net.createServer({ highWaterMark: MiB }, (socket) => {
  void pipeline(socket, createWriteStream(dest, { highWaterMark: MiB })).then(() => {
    const ms = performance.now() - started;
    process.stdout.write(`${JSON.stringify({ event: "done", ms })}\n`);
    server.close();
  });
});
let started = 0;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  started = performance.now();
  const socket = net.connect({ port, host: '127.0.0.1', highWaterMark: MiB });
  void pipeline(createReadStream(source, { highWaterMark: MiB }), socket);
});
