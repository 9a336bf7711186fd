// What the page shows: the prediction, the bar chart of every class's
// probability, the 28×28 the network saw and the model's card.
import type { ModelCard } from "mnist-edge/client";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const pct = (p: number) => `${(p * 100).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1)}%`;

export interface Shown {
  label: number;
  name: string;
  probabilities: number[];
}

/** The class names the chart lists: the model's labels. */
export function setClasses(labels: string[]): void {
  const chart = $("chart");
  chart.replaceChildren(
    ...labels.map((name) => {
      const li = document.createElement("li");
      li.innerHTML = '<span class="name"></span><span class="bar" aria-hidden="true"><span class="fill"></span></span><span class="pct"></span>';
      (li.firstChild as HTMLElement).textContent = name;
      return li;
    }),
  );
  showBars(new Array(labels.length).fill(0), -1);
}

function showBars(probabilities: number[], top: number): void {
  const items = $("chart").children;
  for (let i = 0; i < items.length; i++) {
    const li = items[i] as HTMLElement;
    const p = probabilities[i] ?? 0;
    li.classList.toggle("top", i === top);
    (li.querySelector(".fill") as HTMLElement).style.width = `${(p * 100).toFixed(1)}%`;
    (li.querySelector(".pct") as HTMLElement).textContent = pct(p);
    li.setAttribute("aria-label", `${li.querySelector(".name")?.textContent}: ${pct(p)}`);
  }
}

export function showPrediction(r: Shown): void {
  const el = $("prediction");
  el.dataset.label = String(r.label);
  el.dataset.name = r.name;
  $("label").textContent = r.name;
  $("confidence").textContent = `${pct(r.probabilities[r.label] ?? 0)} sure`;
  showBars(r.probabilities, r.label);
}

/** A number read (POST /v1/read): its text, the picture's size and each digit, left to right. */
export interface ShownReading {
  text: string;
  width: number;
  height: number;
  digits: { label: number; probability: number; box: number[] }[];
}

/** The number read, and each digit with its probability and box. */
export function showReading(r: ShownReading): void {
  const el = $("prediction");
  el.dataset.label = r.text;
  el.dataset.name = r.text;
  $("label").textContent = r.text;
  const least = Math.min(...r.digits.map((d) => d.probability));
  $("confidence").textContent =
    `${r.digits.length} digit${r.digits.length === 1 ? "" : "s"}${r.digits.length > 1 ? `, the least sure ${pct(least)}` : `, ${pct(least)} sure`}`;
  const list = $("digits");
  list.hidden = false;
  list.replaceChildren(
    ...r.digits.map((d) => {
      const li = document.createElement("li");
      const [x, y, w, h] = d.box;
      li.innerHTML = '<span class="digit"></span> <span class="pct"></span> <span class="box"></span>';
      (li.children[0] as HTMLElement).textContent = String(d.label);
      (li.children[1] as HTMLElement).textContent = pct(d.probability);
      (li.children[2] as HTMLElement).textContent = `at ${x}, ${y}, ${w}×${h}`;
      li.dataset.box = d.box.join(",");
      return li;
    }),
  );
}

/**
 * Each digit's box over what was read, on the overlay canvas: the pad's own
 * pixels for a drawing; for a picture, the picture fitted into the overlay
 * with its boxes scaled alike.
 */
export function showBoxes(r: ShownReading | null, picture?: CanvasImageSource): void {
  const canvas = $<HTMLCanvasElement>("boxes");
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!r) return;
  let [k, ox, oy] = [1, 0, 0];
  if (picture) {
    k = Math.min(canvas.width / r.width, canvas.height / r.height);
    ox = (canvas.width - r.width * k) / 2;
    oy = (canvas.height - r.height * k) / 2;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(picture, ox, oy, r.width * k, r.height * k);
  }
  ctx.lineWidth = Math.max(2, canvas.height / 140);
  ctx.font = `bold ${Math.round(canvas.height / 16)}px system-ui, sans-serif`;
  ctx.textBaseline = "bottom";
  for (const d of r.digits) {
    const [x, y, w, h] = d.box.map((v, i) => v * k + (i === 0 ? ox : i === 1 ? oy : 0));
    ctx.strokeStyle = d.probability >= 0.9 ? "#2a62d8" : "#d8892a";
    ctx.strokeRect(x, y, w, h);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(`${d.label} ${pct(d.probability)}`, x, Math.max(ctx.lineWidth * 8, y - 2));
  }
}

/** Back to the empty state: no label, empty bars and preview, no digits or boxes. */
export function resetPrediction(hint = "draw a digit"): void {
  const el = $("prediction");
  el.dataset.label = "";
  el.dataset.name = "";
  $("label").textContent = "?";
  $("confidence").textContent = hint;
  showBars([], -1);
  showPreview(null);
  $("digits").hidden = true;
  $("digits").replaceChildren();
  showBoxes(null);
}

/** The 28×28 the network saw, 0 = background (black) to 255 = ink (white). */
export function showPreview(pixels: ArrayLike<number> | null): void {
  const canvas = $<HTMLCanvasElement>("preview");
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(canvas.width, canvas.height);
  if (pixels) {
    for (let i = 0; i < img.width * img.height; i++) {
      const v = pixels[i] ?? 0;
      img.data.set([v, v, v, 255], i * 4);
    }
  } else for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
  ctx.putImageData(img, 0, 0);
}

/** A visible, announced error; null hides it. */
export function showError(message: string | null): void {
  const el = $("error");
  el.hidden = message === null;
  el.textContent = message ?? "";
}

export function showCard(card: ModelCard | undefined): void {
  const dl = $("card");
  if (!card) {
    dl.replaceChildren();
    return;
  }
  const rows: [string, string][] = [
    ["model", card.name],
    ["test accuracy", card.test_accuracy === null ? "not measured" : `${(card.test_accuracy * 100).toFixed(2)}%`],
    ["size", `${(card.bytes / 1e6).toFixed(2)} MB (${card.dtype})`],
    ["layers", card.architecture.layers.join(" → ")],
    ["activations", card.architecture.activations.join(", ")],
    ["parameters", card.parameters.toLocaleString("en")],
  ];
  if (!card.available) rows.push(["unavailable", card.error ?? "its weights do not decode"]);
  dl.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      return [dt, dd];
    }),
  );
}
