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
  showError(null);
}

/** Back to the empty state: no label, empty bars and preview. */
export function resetPrediction(hint = "draw a digit"): void {
  const el = $("prediction");
  el.dataset.label = "";
  el.dataset.name = "";
  $("label").textContent = "?";
  $("confidence").textContent = hint;
  showBars([], -1);
  showPreview(null);
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
