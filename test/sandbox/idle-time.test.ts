import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { advanceWhenIdle, type IdleTimeDriver } from '../../src/sandbox/idle-time.ts';

const HOUR = 3_600_000;

describe('advanceWhenIdle', () => {
  let driver: IdleTimeDriver | undefined;
  let server: http.Server | undefined;
  afterEach(async () => {
    await driver?.stop();
    server?.close();
  });

  /** A server that answers every request after `wallMs` of real time. */
  async function slowServer(wallMs: number): Promise<string> {
    server = http.createServer((_req, res) => {
      setTimeout(() => res.end('ok'), wallMs);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  function get(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      http
        .get(url, (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  }

  it('moves time to each timer in turn while nothing else is going on', async () => {
    const clock = new VirtualClock(0);
    driver = advanceWhenIdle(clock);
    const fired: number[] = [];
    clock.setTimer(2 * HOUR, () => fired.push(clock.now()));
    await clock.sleep(HOUR);
    fired.push(clock.now());
    await clock.sleep(2 * HOUR);
    expect(fired).toEqual([HOUR, 2 * HOUR]);
    expect(clock.now()).toBe(3 * HOUR);
  });

  it('holds time still while an HTTP request waits for its answer', async () => {
    const url = await slowServer(100);
    const clock = new VirtualClock(0);
    driver = advanceWhenIdle(clock);
    const order: string[] = [];
    clock.setTimer(10_000, () => order.push(`timer at ${clock.now()}`));
    const answer = get(url).then((body) => order.push(`${body} at ${clock.now()}`));
    await answer;
    await clock.sleep(20_000);
    expect(order).toEqual(['ok at 0', 'timer at 10000']);
  });

  it('counts the time a request was waited for as none, and moves on once it is answered', async () => {
    const url = await slowServer(20);
    const clock = new VirtualClock(0);
    driver = advanceWhenIdle(clock);
    for (let i = 0; i < 3; i++) {
      await get(url);
      await clock.sleep(1000);
    }
    expect(clock.now()).toBe(3000);
  });

  it('stops moving time once stopped', async () => {
    const clock = new VirtualClock(0);
    driver = advanceWhenIdle(clock);
    await clock.sleep(1000);
    await driver.stop();
    driver = undefined;
    let fired = false;
    clock.setTimer(1000, () => {
      fired = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toBe(false);
    expect(clock.now()).toBe(1000);
  });
});
