import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  formatVersion,
  lowestVersion,
  minorHops,
  minorPath,
  parseReleaseVersion,
  parseVersion,
  resolveTargetVersion,
  VersionParseError,
  versionFromImage,
  versionStatus,
} from '../../src/core/versions.ts';

describe('versions', () => {
  it.each([
    ['v1.30.4', 'v1.30.4'],
    ['1.30.4', 'v1.30.4'],
    ['v1.30.4-eks-1234', 'v1.30.4'],
    ['v1.31.0+k3s1', 'v1.31.0'],
    ['1.29', 'v1.29.0'],
  ])('parses %s as %s', (input, expected) => {
    expect(formatVersion(parseVersion(input))).toBe(expected);
  });

  it.each(['', 'latest', '1', 'v1.x.3'])('refuses %j', (input) => {
    expect(() => parseVersion(input)).toThrow(VersionParseError);
  });

  it.each([
    ['v1.31.4', 'v1.31.4'],
    ['v1.9.0', 'v1.9.0'],
    ['1.31.4', undefined],
    ['v1.31', undefined],
    ['v1.31.4-rc.1', undefined],
    ['v1.31.4+k3s1', undefined],
    ['v01.31.4', undefined],
    [' v1.31.4', undefined],
  ])('reads %j as a release version: %s', (input, expected) => {
    const v = parseReleaseVersion(input);
    expect(v && formatVersion(v)).toBe(expected);
  });

  it('finds the lowest version by order, not by text, and keeps it as written', () => {
    expect(lowestVersion(['v1.10.0', 'v1.9.20', 'v1.10.1'])).toBe('v1.9.20');
    expect(lowestVersion(['v1.30.4-eks-1', 'v1.31.0'])).toBe('v1.30.4-eks-1');
    expect(lowestVersion([])).toBeUndefined();
    expect(() => lowestVersion(['v1.30.0', 'latest'])).toThrow(VersionParseError);
  });

  it('orders by minor before patch', () => {
    expect(compareVersions(parseVersion('v1.9.20'), parseVersion('v1.10.0'))).toBeLessThan(0);
    expect(compareVersions(parseVersion('v1.30.4-eks-1'), parseVersion('v1.30.4'))).toBe(0);
  });

  it.each([
    ['v1.29.3', 'v1.32.2', ['v1.30.14', 'v1.31.14', 'v1.32.2']],
    ['v1.30.1', 'v1.30.5', ['v1.30.5']],
    ['v1.30.1', 'v1.31.2', ['v1.31.2']],
    ['v1.31.0', 'v1.30.9', []],
  ])('hops from %s to %s', (from, to, hops) => {
    expect(minorHops(parseVersion(from), parseVersion(to)).map(formatVersion)).toEqual(hops);
  });

  it.each([
    ['v1.29.10', 'v1.31.2', [], ['v1.30.14', 'v1.31.2']],
    ['v1.29.10', 'v1.31.2', ['v1.30.6'], ['v1.30.6', 'v1.31.2']],
    ['v1.31.2', 'v1.29.10', ['v1.30.6', 'v1.31.2'], ['v1.30.6', 'v1.29.10']],
    ['v1.31.2', 'v1.30.6', [], ['v1.30.6']],
    ['v1.31.0', 'v1.31.2', [], ['v1.31.2']],
    ['v1.31.2', 'v1.31.2', [], []],
  ])('walks %s to %s via %j one minor at a time', (from, to, via, path) => {
    const versions = via.map(parseVersion);
    expect(minorPath(parseVersion(from), parseVersion(to), versions).map(formatVersion)).toEqual(path);
  });

  it('resolves a bare minor to its latest known patch', () => {
    expect(formatVersion(resolveTargetVersion('1.31'))).toBe('v1.31.14');
    expect(formatVersion(resolveTargetVersion('v1.31.2'))).toBe('v1.31.2');
  });

  it.each([
    ['v1.31.2', 'known'],
    ['v1.31.99', 'newer-patch'],
    ['v1.19.0', 'unknown-minor'],
    ['v1.99.0', 'unknown-minor'],
  ])('classifies %s as %s', (v, status) => {
    expect(versionStatus(parseVersion(v))).toBe(status);
  });

  it.each([
    ['registry.k8s.io/kube-apiserver:v1.30.4', 'v1.30.4'],
    ['localhost:5000/kube-apiserver:v1.29.1', 'v1.29.1'],
    ['registry.k8s.io/kube-apiserver:v1.30.4@sha256:abc', 'v1.30.4'],
  ])('reads the version in image %s', (image, v) => {
    expect(formatVersion(versionFromImage(image)!)).toBe(v);
  });
  it('finds no version in an untagged image', () => {
    expect(versionFromImage('localhost:5000/kube-apiserver')).toBeUndefined();
  });
});
