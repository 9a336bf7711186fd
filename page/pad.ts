// The drawing pad: black ink on a white ground, as on paper, drawn with a
// mouse, pen or finger through Pointer Events. One pointer draws at a time.
import type { Raster } from "../src/image/raster";

export interface PadOptions {
  /** Stroke width in canvas pixels. @default canvas.width / 20 */
  lineWidth?: number;
  /** Called as ink is added, on every move while drawing. */
  onInk: () => void;
}

export class Pad {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly onInk: () => void;
  private pointer: number | null = null;
  private last: [number, number] = [0, 0];
  /** Whether anything was drawn since the last clear. */
  empty = true;

  private readonly lineWidth: number;

  constructor(canvas: HTMLCanvasElement, opts: PadOptions) {
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new Error("this browser has no 2D canvas; choose an image file instead");
    this.canvas = canvas;
    this.ctx = ctx;
    this.onInk = opts.onInk;
    this.lineWidth = opts.lineWidth ?? canvas.width / 20;
    this.pen();
    this.clear();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"] as const) canvas.addEventListener(type, (e) => this.up(e));
  }

  /** Round strokes of the pad's width; a canvas forgets its pen when resized. */
  private pen(): void {
    this.ctx.lineWidth = this.lineWidth;
    this.ctx.lineCap = "round";
    this.ctx.lineJoin = "round";
  }

  /** A new size in canvas pixels (the pen stays as wide), cleared. */
  resize(width: number, height: number): void {
    this.canvas.width = width;
    this.canvas.height = height;
    this.pen();
    this.clear();
  }

  /** The drawing as a PNG file, as a picture is sent. */
  png(): Promise<Blob> {
    return new Promise((resolve, reject) =>
      this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the drawing could not be saved as a PNG"))), "image/png"),
    );
  }

  clear(): void {
    this.ctx.fillStyle = "#fff";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.empty = true;
  }

  /** The canvas as it is now: an ImageData is a 4-channel Raster. */
  raster(): Raster {
    const { width, height, data } = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
    return { width, height, channels: 4, data };
  }

  /** A pointer's position in canvas pixels; the canvas is scaled by CSS. */
  private at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  private down(e: PointerEvent): void {
    if (this.pointer !== null || e.button > 0) return;
    e.preventDefault();
    this.pointer = e.pointerId;
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.at(e);
    // A tap leaves a dot.
    this.ctx.fillStyle = "#000";
    this.ctx.beginPath();
    this.ctx.arc(this.last[0], this.last[1], this.ctx.lineWidth / 2, 0, 2 * Math.PI);
    this.ctx.fill();
    this.empty = false;
    this.onInk();
  }

  private move(e: PointerEvent): void {
    if (e.pointerId !== this.pointer) return;
    e.preventDefault();
    this.ctx.strokeStyle = "#000";
    this.ctx.beginPath();
    this.ctx.moveTo(this.last[0], this.last[1]);
    // Coalesced events: every position the pointer passed since the last frame.
    for (const p of e.getCoalescedEvents?.() ?? [e]) {
      this.last = this.at(p);
      this.ctx.lineTo(this.last[0], this.last[1]);
    }
    this.ctx.stroke();
    this.onInk();
  }

  private up(e: PointerEvent): void {
    if (e.pointerId !== this.pointer) return;
    this.pointer = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
  }
}
