// The page (GET /) and the docs (GET /docs) in a real browser: Debian's
// Chromium driven by playwright-core against `wrangler dev`. Strokes drawn
// with the mouse must read as a clear 1 and a clear 0; switching the model
// asks the new one; Clear and Escape reset the answer; an uploaded PNG is read;
// a 12 MP photo and a sideways (EXIF) one are turned upright and scaled in the
// browser before they are sent; a three-digit number drawn in number mode is
// read digit by digit; on a phone the answer stays on screen with the pad.
// Every request to another origin is refused and counted: the page and the
// docs must work offline. Screenshots go to bench/out/ (not committed).
//
//   npx vitest run --project node test/node/page.test.ts
//
// Needs /usr/bin/chromium (apt-get install -y chromium); skipped without it
// unless REQUIRE_DATA=1 or CI is set, when its absence fails the test.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { encode } from "fast-png";
import { imageHeader } from "../../src/image/decode";
import { rng } from "../../src/nn/random";
import { baseScene, photograph } from "../../scripts/lib/photos";
import { digitInk, type Ink } from "../../scripts/lib/robustness-set";
import { DIGITS, draw as drawStrokes } from "../fixtures/drawn";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datasetPresent, loadSplit } from "../fixtures/datasets";
import { ROOT } from "../../scripts/lib/paths";
import { buildPage, startWranglerDev, type WranglerDev } from "../../scripts/lib/wrangler-dev";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const present = existsSync(CHROMIUM);
const required = process.env.REQUIRE_DATA === "1" || !!process.env.CI;
const OUT = join(ROOT, "bench", "out");

let dev: WranglerDev;
let browser: Browser;
/** Requests the browser tried to send anywhere but the Worker. */
const offsite: string[] = [];
/** Uncaught errors and console errors of the pages. */
const pageErrors: string[] = [];

async function open(path: string, viewport = { width: 1100, height: 900 }, phone = false): Promise<Page> {
  // Reduced motion: the bars are drawn at their final width for the screenshots.
  const context = await browser.newContext({ viewport, reducedMotion: "reduce", hasTouch: phone, isMobile: phone });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(dev.url) || url.startsWith("data:")) return route.continue();
    offsite.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${path}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`${path}: console: ${m.text()}`);
  });
  await page.goto(`${dev.url}${path}`);
  return page;
}

/** Mouse strokes on the pad, in fractions of its size; `steps` moves between points. */
async function draw(page: Page, strokes: [number, number][][]): Promise<void> {
  const box = await page.getByTestId("pad").boundingBox();
  if (!box) throw new Error("the pad is not visible");
  const at = ([fx, fy]: [number, number]) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  for (const stroke of strokes) {
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (const p of stroke.slice(1)) await page.mouse.move(...at(p), { steps: 4 });
    await page.mouse.up();
  }
}

/** Bright pixels of the 28×28 preview: the ink the network saw. */
const litPixels = (page: Page) =>
  page.evaluate<number>(`(() => {
    const d = document.getElementById("preview").getContext("2d").getImageData(0, 0, 28, 28).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 127) n++;
    return n;
  })()`);
/** A finger's stroke on the pad: touch events through the DevTools protocol (Playwright has no touch move). */
async function swipe(page: Page, stroke: [number, number][]): Promise<void> {
  const box = await page.getByTestId("pad").boundingBox();
  if (!box) throw new Error("the pad is not visible");
  const cdp = await page.context().newCDPSession(page);
  const point = ([fx, fy]: [number, number]) => [{ x: box.x + fx * box.width, y: box.y + fy * box.height }];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: point(stroke[0]) });
  for (const p of stroke.slice(1)) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: point(p) });
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

const label = (page: Page) => page.getByTestId("prediction").getAttribute("data-label");
const line = (from: [number, number], to: [number, number], n = 12): [number, number][] =>
  Array.from({ length: n + 1 }, (_, i) => [from[0] + ((to[0] - from[0]) * i) / n, from[1] + ((to[1] - from[1]) * i) / n]);
const ellipse = (cx: number, cy: number, rx: number, ry: number, n = 36): [number, number][] =>
  Array.from({ length: n + 1 }, (_, i) => [cx + rx * Math.sin((2 * Math.PI * i) / n), cy - ry * Math.cos((2 * Math.PI * i) / n)]);

/** A scan-like PNG: a digit 8× upscaled, dark ink on white; an MNIST test digit when the data is there. */
function digitPng(): { png: Uint8Array; label: string } {
  let src: Uint8Array;
  let want: string;
  if (datasetPresent("mnist", "test")) {
    const test = loadSplit("mnist", "test");
    src = test.pixels.subarray(0, 784);
    want = String(test.labels[0]);
  } else {
    // A 1: a slightly slanted bar.
    src = new Uint8Array(784);
    for (let y = 4; y < 24; y++) for (let x = 13; x < 16; x++) src[y * 28 + x + Math.round((14 - y) / 8)] = 255;
    want = "1";
  }
  const S = 8;
  const data = new Uint8Array(28 * S * 28 * S);
  for (let y = 0; y < 28 * S; y++) for (let x = 0; x < 28 * S; x++) data[y * 28 * S + x] = 255 - src[Math.floor(y / S) * 28 + Math.floor(x / S)];
  return { png: encode({ width: 28 * S, height: 28 * S, data, channels: 1, depth: 8 }), label: want };
}

/** A digit's ink (ink-high) and its label: an MNIST test digit when the data is there, else a drawn 7. */
function digitToPhotograph(): { ink: Ink; label: string } {
  if (datasetPresent("mnist", "test")) {
    const test = loadSplit("mnist", "test");
    return { ink: digitInk(test.pixels.subarray(0, 784)), label: String(test.labels[0]) };
  }
  const seven = drawStrokes(DIGITS["7"], 112, 112, 0.1);
  return { ink: { v: Float32Array.from(seven.data, (p) => 255 - p), W: 112, H: 112 }, label: "7" };
}

/** A phone photo (JPEG) of one digit: W × H as shown, stored with EXIF `orientation`. */
function photo(W: number, H: number, orientation = 1): { jpeg: Buffer; label: string } {
  const { ink, label } = digitToPhotograph();
  const rand = rng(W + orientation);
  const scene = { ...baseScene(rand), W, H, gradient: 0.3, size: 0.4, orientation };
  return { jpeg: Buffer.from(photograph(ink, scene, rand)), label };
}

/** A stroke of a digit on tile n of `count` across the pad: x from the tile's unit coordinates, y as is. */
const onTile = (n: number, count: number, stroke: [number, number][]): [number, number][] =>
  stroke.map(([x, y]) => [(0.04 + n * 0.32 + x * 0.28) * (3 / count), y] as [number, number]);

/** The answer's label and the pad, both wholly inside the viewport. */
async function answerOnScreen(page: Page): Promise<boolean> {
  const { height, width } = page.viewportSize() ?? { width: 0, height: 0 };
  const inside = (b: { x: number; y: number; width: number; height: number } | null) =>
    !!b && b.y >= 0 && b.x >= 0 && b.y + b.height <= height && b.x + b.width <= width;
  return inside(await page.locator("#label").boundingBox()) && inside(await page.getByTestId("pad").boundingBox());
}

describe.skipIf(!present && !required)(`the page in Chromium (${present ? CHROMIUM : `skipped: ${CHROMIUM} absent; apt-get install -y chromium`})`, () => {
  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is absent and REQUIRE_DATA/CI require this test: apt-get install -y chromium`);
    // The assets as the sources are now, not a stale dist-page/.
    buildPage();
    mkdirSync(OUT, { recursive: true });
    dev = await startWranglerDev({ timeoutMs: 120_000 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });

  it("should read a drawn 1 and 0, switch model, and clear with the button and Escape", async () => {
    const page = await open("/");
    const picker = page.getByTestId("model");
    const list = (await (await fetch(`${dev.url}/v1/models`)).json()) as { default: string; models: { name: string; architecture: { layers: number[] } }[] };
    await expect
      .poll(async () => (await picker.locator("option").evaluateAll((os) => os.map((o) => o.getAttribute("value")))).sort())
      .toEqual(list.models.map((m) => m.name).sort());
    expect(await picker.inputValue()).toBe(list.default);
    const layers = list.models.find((m) => m.name === list.default)?.architecture.layers.join(" → ") ?? "";
    await expect.poll(() => page.locator("#card").textContent()).toContain(layers);
    expect(await label(page)).toBe("");

    // A 1: one slightly slanted stroke down the middle.
    await draw(page, [line([0.54, 0.15], [0.46, 0.85])]);
    await expect.poll(() => label(page), { timeout: 15_000 }).toBe("1");
    expect(await page.locator("#chart li").count()).toBe(10);
    expect(await page.locator("#chart li.top .name").textContent()).toBe("1");
    expect(await litPixels(page)).toBeGreaterThan(15);

    await page.getByTestId("clear").click();
    expect(await label(page)).toBe("");
    expect(await litPixels(page)).toBe(0);

    // A 0: one closed oval.
    await draw(page, [ellipse(0.5, 0.5, 0.22, 0.33)]);
    await expect.poll(() => label(page), { timeout: 15_000 }).toBe("0");
    await page.screenshot({ path: join(OUT, "page.png"), fullPage: true });
    console.log(`screenshot: ${join(OUT, "page.png")}`);

    // Another model: the same drawing is sent to it and its card shows.
    const asked = page.waitForRequest((r) => r.method() === "POST" && r.url().startsWith(`${dev.url}/v1/models/mnist-book/predict`));
    await picker.selectOption("mnist-book");
    await asked;
    await expect.poll(() => page.locator("#card").textContent()).toMatch(/784 → 50 → 100 → 10/);
    await expect.poll(() => label(page), { timeout: 15_000 }).toBe("0");

    // Escape clears too.
    await page.keyboard.press("Escape");
    expect(await label(page)).toBe("");

    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("should read an uploaded PNG and show the 28×28 the service saw", async () => {
    const page = await open("/");
    await expect.poll(() => page.getByTestId("model").locator("option").count()).toBeGreaterThan(1);
    // An image file, read by the service (?debug=1 gives the 28×28 it saw).
    const { png, label: want } = digitPng();
    const answered = page.waitForResponse((r) => r.url().includes("/predict") && r.url().includes("debug=1"));
    await page.locator("#file").setInputFiles({ name: "digit.png", mimeType: "image/png", buffer: Buffer.from(png) });
    const res = await answered;
    expect(res.request().headers()["content-type"]).toBe("image/png");
    expect(res.status(), await res.text()).toBe(200);
    await expect.poll(() => label(page), { timeout: 15_000 }).toBe(want);
    expect(await page.locator("#error").isHidden()).toBe(true);
    expect(await litPixels(page)).toBeGreaterThan(15);
    await page.screenshot({ path: join(OUT, "page-upload.png"), fullPage: true });
    console.log(`screenshot: ${join(OUT, "page-upload.png")}`);

    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("should fit a phone's width, draw with a finger, and show a visible error for a non-image file", async () => {
    const page = await open("/", { width: 360, height: 740 }, true);
    await expect.poll(() => page.getByTestId("model").locator("option").count()).toBeGreaterThan(1);
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    const pad = await page.getByTestId("pad").boundingBox();
    expect(pad && pad.width > 200 && pad.x >= 0 && pad.x + pad.width <= 360).toBe(true);
    const scrolled = await page.evaluate<number>("window.scrollY");
    await swipe(page, line([0.52, 0.15], [0.48, 0.85], 24));
    await expect.poll(() => label(page), { timeout: 15_000 }).toBe("1");
    // The finger drew; it did not scroll the page (touch-action: none).
    expect(await page.evaluate<number>("window.scrollY")).toBe(scrolled);
    await page.locator("#file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("seven") });
    await expect.poll(() => page.locator("#error").textContent()).toMatch(/PNG or JPEG/);
    expect(await page.locator("#error").isVisible()).toBe(true);
    await page.screenshot({ path: join(OUT, "page-phone.png"), fullPage: true });
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("should scale a 12 MP photo in the browser to 1024 pixels on its long side before sending it, and read it", async () => {
    const page = await open("/");
    await expect.poll(() => page.getByTestId("model").locator("option").count()).toBeGreaterThan(1);
    const { jpeg, label: want } = photo(4032, 3024);
    const sent = page.waitForRequest((r) => r.method() === "POST" && r.url().includes("/predict"));
    await page.locator("#file").setInputFiles({ name: "IMG_0001.jpg", mimeType: "image/jpeg", buffer: jpeg });
    const req = await sent;
    const body = req.postDataBuffer();
    if (!body) throw new Error("the page sent no body");
    const header = imageHeader(new Uint8Array(body), req.headers()["content-type"] ?? "");
    expect(Math.max(header.width, header.height)).toBe(1024);
    expect([header.width, header.height]).toEqual([1024, 768]);
    expect(body.length).toBeLessThan(jpeg.length);
    await expect.poll(() => label(page), { timeout: 20_000 }).toBe(want);
    expect(await page.locator("#error").isHidden()).toBe(true);
    await page.screenshot({ path: join(OUT, "page-12mp.png"), fullPage: true });
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("should turn a photo stored sideways (EXIF Orientation 6) upright in the browser and read it", async () => {
    const page = await open("/");
    await expect.poll(() => page.getByTestId("model").locator("option").count()).toBeGreaterThan(1);
    // 1600 × 1200 as shown: stored 1200 × 1600, Orientation 6 saying "turn 90° clockwise".
    const { jpeg, label: want } = photo(1600, 1200, 6);
    expect(imageHeader(new Uint8Array(jpeg), "image/jpeg")).toMatchObject({ width: 1200, height: 1600, orientation: 6 });
    const sent = page.waitForRequest((r) => r.method() === "POST" && r.url().includes("/predict"));
    await page.locator("#file").setInputFiles({ name: "sideways.jpg", mimeType: "image/jpeg", buffer: jpeg });
    const body = (await sent).postDataBuffer();
    if (!body) throw new Error("the page sent no body");
    // Upright, scaled, and no orientation left for the service to apply.
    expect(imageHeader(new Uint8Array(body), "image/jpeg")).toMatchObject({ width: 1024, height: 768, orientation: 1 });
    await expect.poll(() => label(page), { timeout: 20_000 }).toBe(want);
    // Number mode reads the same upright picture through /v1/read: one digit, boxed within it.
    const read = page.waitForResponse((r) => r.url().includes("/read"));
    await page.getByTestId("number").check();
    expect((await read).status()).toBe(200);
    await expect.poll(() => label(page), { timeout: 20_000 }).toBe(want);
    const [x, y, w, h] = ((await page.getByTestId("digits").locator("li").getAttribute("data-box")) ?? "").split(",").map(Number);
    expect(x >= 0 && y >= 0 && x + w <= 1024 && y + h <= 768 && h > 100).toBe(true);
    await page.screenshot({ path: join(OUT, "page-sideways-number.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("should read a three-digit number drawn in number mode, showing each digit's box and probability", async () => {
    const page = await open("/");
    await expect.poll(() => page.getByTestId("model").locator("option").count()).toBeGreaterThan(1);
    await page.getByTestId("number").check();
    const pad = await page.getByTestId("pad").boundingBox();
    expect(pad && Math.round(pad.width / pad.height)).toBe(2);
    const reads: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().includes("/read")) reads.push(r.headers()["content-type"] ?? "");
    });
    // 1, 0, 7 side by side.
    await draw(page, [
      onTile(0, 3, line([0.52, 0.15], [0.46, 0.85])),
      onTile(1, 3, ellipse(0.5, 0.5, 0.3, 0.34)),
      onTile(2, 3, [
        [0.2, 0.18],
        [0.8, 0.18],
        [0.42, 0.85],
      ]),
    ]);
    await expect.poll(() => label(page), { timeout: 20_000 }).toBe("107");
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((t) => t === "image/png")).toBe(true);
    const items = page.getByTestId("digits").locator("li");
    await expect.poll(() => items.count()).toBe(3);
    expect(await items.locator(".digit").allTextContents()).toEqual(["1", "0", "7"]);
    for (const pct of await items.locator(".pct").allTextContents()) expect(pct).toMatch(/^\d+(\.\d)?%$/);
    // Boxes in the pad's pixels, left to right, each within its third of the pad.
    const boxes = (await items.evaluateAll((lis) => lis.map((li) => li.getAttribute("data-box") ?? ""))).map((b) => b.split(",").map(Number));
    boxes.forEach(([x, , w], n) => {
      expect(x).toBeGreaterThanOrEqual(n * 374);
      expect(x + w).toBeLessThanOrEqual((n + 1) * 374);
    });
    // The boxes are drawn over the pad.
    const drawn = await page.evaluate<number>(`(() => {
      const c = document.getElementById("boxes");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    })()`);
    expect(drawn).toBeGreaterThan(500);
    await page.screenshot({ path: join(OUT, "page-number.png"), fullPage: true });
    await page.getByTestId("clear").click();
    expect(await label(page)).toBe("");
    expect(await items.count()).toBe(0);
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  for (const [width, height] of [
    [390, 844],
    [360, 740],
  ]) {
    it(`should keep the answer on screen with the pad at ${width} × ${height}, digit and number mode`, async () => {
      const page = await open("/", { width, height }, true);
      await expect.poll(() => page.getByTestId("model").locator("option").count()).toBeGreaterThan(1);
      expect(await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")).toBeLessThanOrEqual(0);
      await swipe(page, line([0.52, 0.15], [0.48, 0.85], 24));
      await expect.poll(() => label(page), { timeout: 15_000 }).toBe("1");
      expect(await answerOnScreen(page)).toBe(true);
      await page.screenshot({ path: join(OUT, `page-phone-${width}x${height}.png`) });

      await page.getByTestId("number").check();
      await swipe(page, onTile(0, 2, line([0.52, 0.15], [0.46, 0.85], 24)));
      await swipe(page, onTile(1, 2, ellipse(0.5, 0.5, 0.3, 0.34)));
      await expect.poll(() => label(page), { timeout: 15_000 }).toBe("10");
      expect(await answerOnScreen(page)).toBe(true);
      expect(await page.getByTestId("digits").locator("li").count()).toBe(2);
      expect(await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(OUT, `page-phone-number-${width}x${height}.png`) });
      expect(offsite).toEqual([]);
      expect(pageErrors).toEqual([]);
    });
  }

  it("should render Swagger UI at /docs from this origin alone", async () => {
    const page = await open("/docs");
    await expect.poll(() => page.locator(".swagger-ui .info .title").textContent(), { timeout: 20_000 }).toMatch(/mnist-edge/);
    expect(await page.locator(".opblock").count()).toBeGreaterThan(10);
    await page.screenshot({ path: join(OUT, "docs.png") });
    expect(offsite).toEqual([]);
  });
});
