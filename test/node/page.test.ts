// The page (GET /) and the docs (GET /docs) in a real browser: Debian's
// Chromium driven by playwright-core against `wrangler dev`. Strokes drawn
// with the mouse must read as a clear 1 and a clear 0; switching the model
// asks the new one; Clear and Escape reset the answer; an uploaded PNG is read.
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

  it("should render Swagger UI at /docs from this origin alone", async () => {
    const page = await open("/docs");
    await expect.poll(() => page.locator(".swagger-ui .info .title").textContent(), { timeout: 20_000 }).toMatch(/mnist-edge/);
    expect(await page.locator(".opblock").count()).toBeGreaterThan(10);
    await page.screenshot({ path: join(OUT, "docs.png") });
    expect(offsite).toEqual([]);
  });
});
