#!/usr/bin/env node
// The system packages the tests need. Discovery: `ip` (iproute2) to build network namespaces,
// `nft` (nftables) to drop multicast in one of them, and Debian's python3-zeroconf, an mDNS
// implementation independent of Ferry's. A shaped link (the benchmark's): `ethtool` and `ping`.
// The link: curl, wget and Chromium download from it,
// unzip checks its zips, and zbar's `zbarimg` decodes its QR codes. Installs what is missing with apt-get (as root) and
// prints one line per package installed; exits non-zero with what to do when it cannot.
// Nothing is installed when everything is there, so a second run takes a fraction of a second.
import { spawnSync } from 'node:child_process';

/** Debian's python, not one from pyenv or a virtualenv that shadows it on the PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';
/** Where Debian's chromium package puts the browser; the link's browser test drives it. */
const CHROMIUM = '/usr/bin/chromium';

const needs = [
  { pkg: 'iproute2', what: '`ip` (network namespaces)', present: () => runs('ip', ['-V']) },
  {
    pkg: 'nftables',
    what: '`nft` (a firewall to drop multicast)',
    present: () => runs('nft', ['--version']),
  },
  {
    pkg: 'python3-zeroconf',
    what: `python3-zeroconf for ${SYSTEM_PYTHON} (another mDNS implementation)`,
    present: () => runs(SYSTEM_PYTHON, ['-c', 'import zeroconf']),
  },
  {
    pkg: 'ethtool',
    what: '`ethtool` (turns off offloads on a shaped link)',
    present: () => runs('ethtool', ['--version']),
  },
  {
    pkg: 'iputils-ping',
    what: "`ping` (a shaped link's round trip)",
    present: () => runs('ping', ['-V']),
  },
  {
    pkg: 'curl',
    what: '`curl` (downloads from a link)',
    present: () => runs('curl', ['--version']),
  },
  {
    pkg: 'wget',
    what: '`wget` (downloads from a link)',
    present: () => runs('wget', ['--version']),
  },
  { pkg: 'unzip', what: '`unzip` (checks folder zips)', present: () => runs('unzip', ['-v']) },
  {
    pkg: 'chromium',
    what: `Chromium at ${CHROMIUM} (a browser downloads from a link)`,
    present: () => runs(CHROMIUM, ['--version']),
  },
  {
    pkg: 'zbar-tools',
    what: '`zbarimg` (decodes QR codes)',
    present: () => runs('zbarimg', ['--version']),
  },
];

function runs(file, args) {
  const result = spawnSync(file, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

function fail(lines) {
  console.error(`system packages: ${lines.join('\n  ')}`);
  process.exit(1);
}

if (process.platform !== 'linux') {
  fail([
    `the discovery tests run in Linux network namespaces, and the link's tests use Debian's packages; this is ${process.platform}.`,
    'Run `npm run check` on Linux as root (e.g. in a Debian VM or container).',
  ]);
}

const missing = needs.filter((need) => !need.present());
if (missing.length === 0) {
  console.log(`system packages: ${needs.map((need) => need.pkg).join(', ')} present`);
  process.exit(0);
}

const names = missing.map((need) => need.pkg).join(' ');
if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  fail([
    `missing ${missing.map((need) => need.what).join(', ')}.`,
    `Only root can install them: run \`sudo apt-get install ${names}\`, or run \`npm run check\` as root.`,
  ]);
}
if (!runs('apt-get', ['--version'])) {
  fail([
    `missing ${missing.map((need) => need.what).join(', ')}, and apt-get is not here to install them.`,
    `Install the packages ${names} (Debian names) with this system's package manager.`,
  ]);
}

const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Waits for another apt run (e.g. unattended upgrades on a fresh machine) instead of failing.
const aptOptions = ['-o', 'DPkg::Lock::Timeout=300', '-o', 'Acquire::Retries=3'];
function apt(args) {
  const result = spawnSync('apt-get', [...aptOptions, ...args], { env, encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15);
    fail([
      `\`apt-get ${args.join(' ')}\` failed (${result.error?.message ?? `exit ${result.status}`}):`,
      ...output,
      `Install ${names} by hand, then run \`npm run check\` again.`,
    ]);
  }
}

apt(['update', '-q']);
apt(['install', '-y', '-q', '--no-install-recommends', ...missing.map((need) => need.pkg)]);
const stillMissing = missing.filter((need) => !need.present());
if (stillMissing.length > 0) {
  fail([
    `apt-get installed ${names}, but ${stillMissing.map((need) => need.what).join(', ')} still does not work.`,
    'Check the packages by hand (e.g. `/usr/bin/python3 -c "import zeroconf"`, `zbarimg --version`).',
  ]);
}
for (const need of missing) console.log(`system packages: installed ${need.pkg}: ${need.what}`);
