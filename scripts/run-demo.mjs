#!/usr/bin/env node
// A real transfer on this machine: a ferry-send process offers a few sample files over
// loopback, a ferry-receive process saves them, and both trees are compared byte for byte.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const sendBin = path.join(root, 'packages', 'sender', 'bin', 'ferry-send.mjs');
const receiveBin = path.join(root, 'packages', 'receiver', 'bin', 'ferry-receive.mjs');
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-demo-'));
let sender;
try {
  const offered = path.join(work, 'to-send');
  await fs.mkdir(path.join(offered, 'Fotos', 'Sommer 2026'), { recursive: true });
  await fs.mkdir(path.join(offered, 'empty folder'));
  await fs.writeFile(path.join(offered, 'hello.txt'), 'Hello from Ferry!\n');
  await fs.writeFile(path.join(offered, 'Fotos', 'Sommer 2026', 'Straße am Meer.jpg'), randomBytes(3 * 1024 * 1024));
  await fs.writeFile(path.join(offered, 'big.bin'), randomBytes(64 * 1024 * 1024));
  const received = path.join(work, 'received');
  await fs.mkdir(received);

  // Each "machine" has its own identity key, in a folder of this demo.
  const machine = (name) => ({ ...process.env, FERRY_CONFIG_DIR: path.join(work, name) });

  console.log('--- ferry-send (the sending machine) ---');
  sender = spawn(process.execPath, [sendBin, '--once', '--host', '127.0.0.1', '--port', '0', offered], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: machine('sender-config'),
  });
  const [address, pairingCode] = await new Promise((resolve, reject) => {
    let seen = '';
    sender.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      seen += chunk;
      const where = /ferry-receive (127\.0\.0\.1:\d+)/.exec(seen);
      const code = /Pairing code: (\d{4}-\d{4})/.exec(seen);
      if (where && code) resolve([where[1], code[1]]);
    });
    sender.once('exit', (code) => reject(new Error(`ferry-send exited early (${code})`)));
  });

  // A person would type the code when asked; the demo hands it over in FERRY_CODE.
  console.log(`\n--- FERRY_CODE=${pairingCode} ferry-receive ${address} --yes --out ${received} (the receiving machine) ---`);
  const receiver = spawn(process.execPath, [receiveBin, '--yes', '--out', received, address], {
    stdio: 'inherit',
    env: { ...machine('receiver-config'), FERRY_CODE: pairingCode },
  });
  const code = await new Promise((resolve) => receiver.once('exit', resolve));
  await new Promise((resolve) => (sender.exitCode === null ? sender.once('exit', resolve) : resolve()));
  if (code !== 0) throw new Error(`ferry-receive exited with ${code}`);

  console.log('\n--- checking every byte ---');
  const source = await digestTree(offered);
  const copy = await digestTree(path.join(received, 'to-send'));
  const same = JSON.stringify(source) === JSON.stringify(copy);
  for (const [name, digest] of Object.entries(copy)) console.log(`  ${digest.slice(0, 16)}  ${name}`);
  console.log(same ? '\nThe received tree is identical to the sent one.' : '\nMISMATCH between sent and received trees!');
  process.exitCode = same ? 0 : 1;
} finally {
  if (sender && sender.exitCode === null) sender.kill();
  await fs.rm(work, { recursive: true, force: true });
}

/** Relative path -> SHA-256 (files) or "folder" (folders), sorted. */
async function digestTree(dir, prefix = '') {
  const out = {};
  for (const entry of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      out[`${relative}/`] = 'folder';
      Object.assign(out, await digestTree(full, relative));
    } else {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(full)) hash.update(chunk);
      out[relative] = hash.digest('hex');
    }
  }
  return out;
}
