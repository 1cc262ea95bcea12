/**
 * The encrypted Node baseline: what Ferry's encrypted transfer costs without its protocol.
 * Two processes, as with Ferry: a sender streams the file into TLS 1.3 (AES-128-GCM), a
 * receiver writes it to the destination, each hashing every byte with SHA-256 and comparing
 * the digests at the end. 1 MiB buffers on every stream.
 *
 * `node node-tls-pipe.mjs <source> <dest> <key.pem> <cert.pem>` runs the receiver, which starts
 * the sender as its child; it prints `{"event":"done","ms":...}`, timed from the end of the TLS
 * handshake to the file's last byte written and both digests agreeing.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import tls from 'node:tls';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;
const TLS = { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', highWaterMark: MiB };
const [source, dest, keyFile, certFile, role, port] = process.argv.slice(2);

if (role === 'sender') {
  const socket = tls.connect({ port: Number(port), host: '127.0.0.1', rejectUnauthorized: false, ...TLS });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const hash = createHash('sha256');
  const file = createReadStream(source, { highWaterMark: MiB });
  file.on('data', (chunk) => hash.update(chunk));
  await pipeline(file, socket);
  process.stdout.write(`${hash.digest('hex')}\n`);
} else {
  const key = readFileSync(keyFile);
  const cert = readFileSync(certFile);
  const server = tls.createServer({ key, cert, ...TLS }, async (socket) => {
    const started = performance.now();
    const hash = createHash('sha256');
    socket.on('data', (chunk) => hash.update(chunk));
    await pipeline(socket, createWriteStream(dest, { highWaterMark: MiB }));
    const ours = hash.digest('hex');
    const theirs = (await senderDigest).trim();
    if (ours !== theirs) throw new Error(`digests differ: ${ours} and ${theirs}`);
    process.stdout.write(`${JSON.stringify({ event: 'done', ms: performance.now() - started })}\n`);
    server.close();
  });
  let senderDigest;
  server.listen(0, '127.0.0.1', () => {
    const child = spawn(process.execPath, [process.argv[1], source, dest, keyFile, certFile, 'sender', String(server.address().port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    senderDigest = new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`the sender exited with ${code}`))));
    });
  });
}
