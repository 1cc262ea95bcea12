import type os from 'node:os';
import { describe, expect, it } from 'vitest';
import { addressGroup, formatHostPort, lanAddresses } from '../src/addresses.ts';

type Interfaces = ReturnType<typeof os.networkInterfaces>;

function v4(address: string, internal = false): os.NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` };
}

function v6(address: string, internal = false): os.NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: `${address}/64`, scopeid: 0 };
}

const INTERFACES: Interfaces = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v4('192.168.1.20'), v6('fe80::1'), v6('2001:db8::20')],
  wlan0: [v4('10.0.0.7'), v6('FE80::abcd'), v6('febf::1')],
  docker0: undefined,
};

describe('lanAddresses', () => {
  it('lists non-internal addresses on all interfaces, without IPv6 link-local ones', () => {
    expect(lanAddresses(undefined, INTERFACES)).toEqual([
      { address: '192.168.1.20', family: 'IPv4', interface: 'eth0' },
      { address: '2001:db8::20', family: 'IPv6', interface: 'eth0' },
      { address: '10.0.0.7', family: 'IPv4', interface: 'wlan0' },
    ]);
  });

  it('lists only IPv4 addresses when bound to 0.0.0.0', () => {
    expect(lanAddresses('0.0.0.0', INTERFACES).map((a) => a.address)).toEqual(['192.168.1.20', '10.0.0.7']);
  });

  it('lists every family when bound to ::', () => {
    expect(lanAddresses('::', INTERFACES).map((a) => a.address)).toEqual(['192.168.1.20', '2001:db8::20', '10.0.0.7']);
  });

  it('returns just the host when bound to one address, with its interface', () => {
    expect(lanAddresses('10.0.0.7', INTERFACES)).toEqual([{ address: '10.0.0.7', family: 'IPv4', interface: 'wlan0' }]);
  });

  it('S6: returns a host it does not know (loopback included) without an interface field, as the README says', () => {
    expect(lanAddresses('127.0.0.1', INTERFACES)).toEqual([{ address: '127.0.0.1', family: 'IPv4' }]);
    expect(lanAddresses('::1', INTERFACES)).toEqual([{ address: '::1', family: 'IPv6' }]);
    expect(lanAddresses('127.0.0.1', INTERFACES)[0]).not.toHaveProperty('interface');
  });

  it('lists the routable IPv6 addresses of a host on IPv6 alone, without its link-local ones', () => {
    const interfaces: Interfaces = { lo: [v6('::1', true)], eth0: [v6('fe80::1'), v6('fd00::5e1')] };
    expect(lanAddresses(undefined, interfaces)).toEqual([{ address: 'fd00::5e1', family: 'IPv6', interface: 'eth0' }]);
    expect(lanAddresses('::', interfaces)).toEqual([{ address: 'fd00::5e1', family: 'IPv6', interface: 'eth0' }]);
  });

  it('lists link-local IPv6 addresses with their interface as the zone where there is no other address', () => {
    const interfaces: Interfaces = { lo: [v6('::1', true)], eth0: [v6('fe80::1')], wlan0: [v6('FE80::abcd')] };
    expect(lanAddresses(undefined, interfaces)).toEqual([
      { address: 'fe80::1%eth0', family: 'IPv6', interface: 'eth0' },
      { address: 'FE80::abcd%wlan0', family: 'IPv6', interface: 'wlan0' },
    ]);
    expect(lanAddresses('::', interfaces).map((a) => a.address)).toEqual(['fe80::1%eth0', 'FE80::abcd%wlan0']);
    expect(lanAddresses('0.0.0.0', interfaces)).toEqual([]);
  });

  it('returns nothing on a machine with only loopback', () => {
    expect(lanAddresses(undefined, { lo: [v4('127.0.0.1', true)] })).toEqual([]);
  });
});

describe('formatHostPort', () => {
  it('joins an IPv4 address or a host name with a colon', () => {
    expect(formatHostPort('192.168.1.20', 7878)).toBe('192.168.1.20:7878');
    expect(formatHostPort('laptop.local', 80)).toBe('laptop.local:80');
  });

  it('brackets an IPv6 address', () => {
    expect(formatHostPort('2001:db8::20', 7878)).toBe('[2001:db8::20]:7878');
    expect(formatHostPort('::1', 9000)).toBe('[::1]:9000');
  });
});

describe('addressGroup (E1, E2: what one address means for the pre-authentication limits)', () => {
  it('keeps an IPv4 address as it is, and reads an IPv4-mapped IPv6 address as IPv4', () => {
    expect(addressGroup('192.168.1.20')).toBe('192.168.1.20');
    expect(addressGroup('::ffff:192.168.1.20')).toBe('192.168.1.20');
    expect(addressGroup('::FFFF:10.0.0.7')).toBe('10.0.0.7');
  });

  it('counts every IPv6 address of one /64 as one, however it is written', () => {
    const group = '2001:db8:aa:bb::/64';
    for (const address of ['2001:db8:aa:bb::1', '2001:0db8:00aa:00bb:1:2:3:4', '2001:DB8:AA:BB:ffff::', '2001:db8:aa:bb::9%eth0']) {
      expect(addressGroup(address)).toBe(group);
    }
    expect(addressGroup('2001:db8:aa:bc::1')).not.toBe(group);
  });

  it('handles the compressed forms at either end', () => {
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('fe80::1')).toBe('fe80:0:0:0::/64');
    expect(addressGroup('1:2:3:4:5:6:7::')).toBe('1:2:3:4::/64');
  });
});
