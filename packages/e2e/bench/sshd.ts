import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { commandExists, freePort, startShell, timeShell } from './procs.ts';

/** An sshd of the bench's own on 127.0.0.1, so `scp` has something to copy to; or why not. */
export type Sshd =
  | { readonly ok: true; readonly version: string; scp(source: string, dest: string): Promise<number>; stop(): void }
  | { readonly ok: false; readonly reason: string; stop(): void };

const SSHD = '/usr/sbin/sshd';
/** Where distributions keep the SFTP server that scp uses since OpenSSH 9. */
const SFTP_SERVERS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];

/**
 * Starts sshd on a free loopback port with throwaway host and user keys in `dir`, accepting
 * only that user key. Nothing outside `dir` is configured or changed.
 */
export async function startSshd(dir: string): Promise<Sshd> {
  const none = (reason: string): Sshd => ({ ok: false, reason, stop: () => {} });
  if (!existsSync(SSHD) || !commandExists('scp') || !commandExists('ssh-keygen')) {
    return none('ssh, scp or sshd is not installed (Debian: apt-get install openssh-client openssh-server)');
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // sshd refuses to start without its privilege-separation folder.
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => {});
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  for (const key of [hostKey, userKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await fs.copyFile(`${userKey}.pub`, path.join(dir, 'authorized_keys'));
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  await fs.writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      ...SFTP_SERVERS.filter((server) => existsSync(server)).slice(0, 1).map((server) => `Subsystem sftp ${server}`),
      '',
    ].join('\n'),
  );
  const daemon = startShell(`exec ${SSHD} -D -f '${config}' -E '${path.join(dir, 'sshd.log')}'`);
  if (!(await listening(port))) {
    daemon.kill();
    return none('sshd did not start');
  }
  const version = execFileSync('sh', ['-c', 'ssh -V 2>&1'], { encoding: 'utf8' }).trim();
  const options = [
    `-i '${userKey}'`,
    `-P ${port}`,
    '-o BatchMode=yes',
    '-o StrictHostKeyChecking=no',
    '-o UserKnownHostsFile=/dev/null',
    '-o LogLevel=ERROR',
    '-c aes128-gcm@openssh.com',
  ].join(' ');
  return {
    ok: true,
    version,
    scp: (source, dest) => timeShell(`scp -q ${options} '${source}' '127.0.0.1:${dest}'`),
    stop: () => daemon.kill(),
  };
}



async function listening(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
