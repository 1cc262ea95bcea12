import { describe, expect, it } from 'vitest';
import {
  formatProgress,
  formatProgressLine,
  ProgressMeter,
  ProgressPacer,
} from '../src/progress.ts';

const MiB = 1024 * 1024;

describe('ProgressMeter and formatProgress', () => {
  it('U14: shows -- for the rate and the ETA until the rate is known', () => {
    const meter = new ProgressMeter(100 * MiB, 0);
    meter.add(MiB);
    const line = formatProgress(meter.snapshot(300));
    expect(line).toContain('--/s');
    expect(line).toContain('ETA --');
    expect(line).not.toContain('0 B/s');
  });

  it('U14: never shows ETA 0s while much remains, even after a first burst', () => {
    const meter = new ProgressMeter(986 * MiB, 0);
    meter.snapshot(300);
    meter.add(900 * MiB);
    // 900 MiB in the first 1.2 s, then 86 MiB still to go.
    const line = formatProgress(meter.snapshot(1_200));
    expect(line).toMatch(/ETA \d/);
    expect(line).not.toContain('ETA 0s');
  });

  it('U14: derives the ETA from the rate over the last seconds, not from one burst', () => {
    const meter = new ProgressMeter(200 * MiB, 0);
    meter.add(50 * MiB);
    meter.snapshot(500);
    for (let at = 1_000; at <= 6_000; at += 500) {
      meter.add(MiB / 2);
      meter.snapshot(at);
    }
    const snapshot = meter.snapshot(6_000);
    // About 1 MiB/s over the last five seconds: the early burst has left the window.
    expect(snapshot.rate).toBeGreaterThan(0.9 * MiB);
    expect(snapshot.rate).toBeLessThan(1.2 * MiB);
    expect(formatProgress(snapshot)).toMatch(/ETA 2m\d\ds/);
  });

  it('U14: the final line shows the average rate, not 0 B/s, and no ETA', () => {
    const meter = new ProgressMeter(10 * MiB, 0);
    meter.snapshot(300);
    meter.add(10 * MiB);
    const line = formatProgress(meter.snapshot(400));
    expect(line).toBe('100% 10.0 MiB of 10.0 MiB  25.0 MiB/s  done');
  });
});

describe('ProgressPacer', () => {
  it('U14: shows the first line only after bytes moved and the rate is known', () => {
    const meter = new ProgressMeter(100 * MiB, 0);
    const pacer = new ProgressPacer(100);
    meter.add(MiB);
    expect(pacer.next(meter, 200)).toBeUndefined();
    meter.add(MiB);
    expect(pacer.next(meter, 1_100)).toMatchObject({ bytes: 2 * MiB });
    expect(pacer.next(meter, 1_150)).toBeUndefined();
  });

  it('U14: shows the end once, whenever it comes', () => {
    const meter = new ProgressMeter(MiB, 0);
    const pacer = new ProgressPacer(2_000);
    meter.add(MiB);
    expect(pacer.next(meter, 50)).toMatchObject({ done: true });
    expect(pacer.next(meter, 60)).toBeUndefined();
  });
});

describe('formatProgressLine', () => {
  it('U4: fits the progress of several receivers into 80 columns', () => {
    const entries = [1, 2, 3].map((n) => {
      const meter = new ProgressMeter(2_000 * MiB, 0);
      meter.add(n * 300 * MiB);
      return { label: `#${n}`, snapshot: meter.snapshot(2_000) };
    });
    const line = formatProgressLine(entries, 80);
    expect([...line].length).toBeLessThanOrEqual(79);
    for (const n of [1, 2, 3]) expect(line).toContain(`#${n} `);
  });

  it('U4: keeps the full form when it fits', () => {
    const meter = new ProgressMeter(100 * MiB, 0);
    meter.add(50 * MiB);
    const line = formatProgressLine([{ label: '#1', snapshot: meter.snapshot(2_000) }], 80);
    expect(line).toBe('#1 50% 50.0 MiB of 100 MiB  25.0 MiB/s  ETA 2s');
  });
});
