import { describe, expect, it } from 'vitest';
import { parseMetricsAddress } from '../../src/telemetry/index.ts';

describe('parseMetricsAddress', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['127.0.0.2:0', { host: '127.0.0.2', port: 0 }],
    ['localhost:9464', { host: 'localhost', port: 9464 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    [':9464', { host: '127.0.0.1', port: 9464 }],
  ])('%s listens on loopback', (text, address) => {
    expect(parseMetricsAddress(text)).toEqual(address);
  });

  it.each([
    ['0.0.0.0:9464', /0\.0\.0\.0 is not a loopback address.*--metrics-allow-remote/],
    ['10.1.2.3:9464', /10\.1\.2\.3 is not a loopback address/],
    ['[::]:9464', /:: is not a loopback address/],
    ['metrics.example:9464', /metrics\.example is not a loopback address/],
  ])('%s is refused without --metrics-allow-remote', (text, message) => {
    expect(() => parseMetricsAddress(text)).toThrow(message);
    expect(parseMetricsAddress(text, { allowRemote: true }).port).toBe(9464);
  });

  it.each([
    ['9464', /expected HOST:PORT/],
    ['127.0.0.1', /expected HOST:PORT/],
    ['127.0.0.1:http', /expected HOST:PORT/],
    ['127.0.0.1:70000', /port 70000 is out of range/],
    ['[localhost]:9464', /localhost in brackets is not an IPv6 address/],
  ])('%s is not an address', (text, message) => {
    expect(() => parseMetricsAddress(text, { allowRemote: true })).toThrow(message);
  });
});
