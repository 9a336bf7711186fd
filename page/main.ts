// The draw-a-digit page. A drawing is turned into MNIST's 28×28 here, by the
// same preprocessing the service applies to images (src/image/preprocess.ts),
// and its 784 bytes are sent through the typed client; an image file is sent
// as it is and the service answers with the 28×28 it saw (debug).
import { ApiError, createClient, type ModelCard } from "mnist-edge/client";
import { recipeFor, toMnist } from "../src/image/preprocess";
import { ImageError } from "../src/image/raster";
import { Pad } from "./pad";
import { resetPrediction, type Shown, setClasses, showCard, showError, showPrediction, showPreview } from "./view";

const api = createClient(location.origin);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const picker = $<HTMLSelectElement>("model");

let cards: ModelCard[] = [];
/** What is being classified: the pad, or the last image file chosen. */
let source: "pad" | Blob = "pad";
/** Bumped by every clear or new source: answers to older requests are dropped. */
let generation = 0;

const selected = () => cards.find((c) => c.name === picker.value);

function describe(e: unknown): string {
  if (e instanceof ApiError) return `${e.problem.detail} (HTTP ${e.status})`;
  if (e instanceof TypeError) return `the service did not answer (${e.message}); check the connection and try again`;
  return e instanceof Error ? e.message : String(e);
}

async function classify(): Promise<void> {
  const gen = generation;
  const model = picker.value || undefined;
  let shown: Shown | undefined;
  let seen: ArrayLike<number> | undefined;
  try {
    if (source === "pad") {
      if (pad.empty) return;
      let pixels: Uint8Array;
      try {
        // The same recipe the service applies to a picture for this model.
        const card = selected();
        pixels = toMnist(pad.raster(), recipeFor(card?.metadata.dataset, card?.input_shape[0])).pixels;
      } catch (e) {
        // A stroke too faint to count as ink yet: nothing to ask.
        if (e instanceof ImageError && e.kind === "blank") return;
        throw e;
      }
      const res = await api.predictPixels(pixels, { model, top_k: 0 });
      shown = res.predictions?.[0] as Shown | undefined;
      seen = pixels;
    } else {
      const res = await api.predictImage(source, { model, debug: true, top_k: 0 });
      shown = res as Shown;
      seen = res.input?.flat();
    }
    if (gen !== generation) return;
    if (!shown?.probabilities) throw new Error("the answer has no probabilities; reload the page");
    showPrediction(shown);
    showPreview(seen ?? null);
  } catch (e) {
    if (gen !== generation) return;
    showError(describe(e));
  }
}

/**
 * Asks again at most every `ms` while input keeps coming, never with two
 * requests in flight: calls during a request make one more request after it.
 */
function coalesce(task: () => Promise<void>, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const run = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await task();
      } while (again);
    } finally {
      running = false;
    }
  };
  return () => {
    if (timer === undefined) timer = setTimeout(run, ms);
  };
}

const classifySoon = coalesce(classify, 60);

const pad = new Pad($<HTMLCanvasElement>("pad"), {
  onInk: () => {
    // New input retires the last error; a late answer for older input does not.
    showError(null);
    if (source !== "pad") {
      source = "pad";
      generation++;
    }
    classifySoon();
  },
});

function clear(): void {
  generation++;
  source = "pad";
  pad.clear();
  resetPrediction();
  showError(null);
}

$("clear").addEventListener("click", () => {
  clear();
  pad.canvas.focus();
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || e.target instanceof HTMLSelectElement || e.defaultPrevented) return;
  clear();
});

function chooseFile(file: File | undefined): void {
  if (!file) return;
  if (!/^image\/(png|jpeg)$/.test(file.type)) {
    showError(`${file.name || "that file"} is ${file.type || "of an unknown type"}; choose a PNG or JPEG image`);
    return;
  }
  showError(null);
  generation++;
  pad.clear();
  resetPrediction(`reading ${file.name}…`);
  source = file;
  classifySoon();
}

const input = $<HTMLInputElement>("file");
input.addEventListener("change", () => {
  chooseFile(input.files?.[0]);
  input.value = ""; // the same file again is a new choice
});
const drop = $("drop");
const main = $("main");
main.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
main.addEventListener("dragleave", () => drop.classList.remove("over"));
main.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  chooseFile(e.dataTransfer?.files[0]);
});

picker.addEventListener("change", () => {
  const card = selected();
  showCard(card);
  if (card) setClasses(card.labels);
  generation++;
  classifySoon();
});

async function loadModels(): Promise<void> {
  try {
    const res = await api.v1.models.$get();
    const list = await res.json();
    cards = list.models;
    picker.replaceChildren(
      ...cards.map((c) => {
        const option = new Option(c.available ? c.name : `${c.name} (unavailable)`, c.name, false, c.name === list.default);
        option.disabled = !c.available;
        return option;
      }),
    );
    picker.value = list.default;
    picker.disabled = false;
    const card = selected();
    showCard(card);
    setClasses(card?.labels ?? []);
  } catch (e) {
    picker.replaceChildren(new Option("default model", ""));
    picker.disabled = false;
    setClasses(Array.from({ length: 10 }, (_, i) => String(i)));
    showError(`could not list the models: ${describe(e)}`);
  }
  if (pad.empty && source === "pad") resetPrediction();
  else classifySoon();
}

void loadModels();
