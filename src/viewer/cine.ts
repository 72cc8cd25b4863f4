/**
 * Cine: steps a viewport through its stack (or the frames of a multi-frame instance) at the shared
 * frame rate, looping at the end. One loop per viewport (viewport 0 and each side viewport), so the
 * `viewer.cine` command plays whichever viewport is active; the rate (keys < and >) is one for all.
 */

/** Cine frame rates, frames per second. */
export const CINE_FPS = [2, 5, 10, 15, 20, 30];

/** The next or previous of the cine frame rates (an unknown rate counts as 10 frames/s). */
export function nextCineFps(fps: number, direction: 1 | -1): number {
  const i = CINE_FPS.indexOf(fps);
  return CINE_FPS[Math.max(0, Math.min(CINE_FPS.length - 1, (i < 0 ? 2 : i) + direction))];
}

/** The slice after `index` in a stack of `count`, back to the first after the last. */
export function nextCineIndex(index: number, count: number): number {
  return count > 0 ? (index + 1) % count : 0;
}

/** How long to wait before the next step: a frame's time less what the step itself took, never negative. */
export function cineDelay(fps: number, elapsedMs: number): number {
  return Math.max(0, 1000 / fps - elapsedMs);
}

/**
 * The loop of one viewport. Each step waits for the previous one (its image drawn), so a slow decode
 * lowers the rate rather than queueing steps; stopping bumps a token that every pending step checks.
 */
export class CineLoop {
  private token = 0;
  private on = false;

  constructor(
    /** Shows the next image; resolves once it is drawn (or failed). */
    private readonly step: () => Promise<void>,
    private readonly fps: () => number,
    /** Told when the loop starts or stops (the viewport's store says "Cine n fps" from it). */
    private readonly onChange: (playing: boolean) => void,
  ) {}

  get playing(): boolean {
    return this.on;
  }

  start(): void {
    if (this.on) return;
    this.on = true;
    this.onChange(true);
    const token = ++this.token;
    const tick = async () => {
      if (token !== this.token) return;
      const t0 = performance.now();
      await this.step();
      if (token !== this.token) return;
      setTimeout(() => void tick(), cineDelay(this.fps(), performance.now() - t0));
    };
    void tick();
  }

  stop(): void {
    this.token++;
    if (!this.on) return;
    this.on = false;
    this.onChange(false);
  }
}
