// The draw-a-digit page. A drawing is turned into MNIST's 28×28 here, by the
// same preprocessing the service applies to images (src/image/preprocess.ts),
// and its 784 bytes are sent through the typed client; an image file is
// turned upright and scaled to at most 1024 pixels on its long side
// (./photo.ts), then sent, and the service answers with the 28×28 it saw
// (debug). In number mode the pad is twice as wide and the drawing (or the
// picture) goes to POST /v1/read, which answers each digit with its box.
import { ApiError, createClient, type ModelCard } from "mnist-edge/client";
import { recipeFor, toMnist } from "../src/image/preprocess";
import { ImageError } from "../src/image/raster";
import { Pad } from "./pad";
import { fitPhoto, type Picture } from "./photo";
import { resetPrediction, type Shown, type ShownReading, setClasses, showBoxes, showCard, showError, showPrediction, showPreview, showReading } from "./view";

const api = createClient(location.origin);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const picker = $<HTMLSelectElement>("model");
const numberBox = $<HTMLInputElement>("number");

/** The pad's size in canvas pixels: square for a digit, twice as wide for a number. */
const SIDE = 560;

let cards: ModelCard[] = [];
/** What is being classified: the pad, or the last image file chosen (upright, scaled). */
let source: "pad" | Picture = "pad";
/** Bumped by every clear or new source: answers to older requests are dropped. */
let generation = 0;

const selected = () => cards.find((c) => c.name === picker.value);
const numberMode = () => numberBox.checked;

function describe(e: unknown): string {
  if (e instanceof ApiError) return `${e.problem.detail} (HTTP ${e.status})`;
  if (e instanceof TypeError) return `the service did not answer (${e.message}); check the connection and try again`;
  return e instanceof Error ? e.message : String(e);
}

/** Number mode: the drawing or the picture read as a number, each digit boxed. */
async function readNumber(gen: number, model: string | undefined): Promise<void> {
  if (source === "pad" && pad.empty) return;
  const picture = source === "pad" ? undefined : source;
  let reading: ShownReading;
  try {
    const res = await api.readImage(picture ? picture.blob : await pad.png(), { model, top_k: 0 });
    if (res.text === undefined || !res.digits) throw new Error("the answer has no reading; reload the page");
    reading = res as ShownReading;
  } catch (e) {
    // A stroke too faint to count as ink yet: nothing to show.
    if (!picture && e instanceof ApiError && e.problem.kind === "blank") return;
    throw e;
  }
  if (gen !== generation) return;
  showReading(reading);
  showBoxes(reading, picture?.image);
}

async function classify(): Promise<void> {
  const gen = generation;
  const model = picker.value || undefined;
  let shown: Shown | undefined;
  let seen: ArrayLike<number> | undefined;
  try {
    if (numberMode()) return await readNumber(gen, model);
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
      const res = await api.predictImage(source.blob, { model, debug: true, top_k: 0 });
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
      showBoxes(null);
    }
    classifySoon();
  },
});

/** Number mode on or off: the pad (and its overlay) square or twice as wide, cleared. */
function setMode(): void {
  const width = numberMode() ? 2 * SIDE : SIDE;
  $("main").classList.toggle("number", numberMode());
  pad.resize(width, SIDE);
  const boxes = $<HTMLCanvasElement>("boxes");
  boxes.width = width;
  boxes.height = SIDE;
  generation++;
  resetPrediction(numberMode() ? "write a number" : "draw a digit");
  showError(null);
  // A picture chosen before is read again the new way.
  if (source !== "pad") classifySoon();
}
numberBox.addEventListener("change", setMode);
// A browser may restore the box ticked when the page is reloaded.
if (numberMode()) setMode();

function clear(): void {
  generation++;
  source = "pad";
  pad.clear();
  resetPrediction(numberMode() ? "write a number" : "draw a digit");
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

async function chooseFile(file: File | undefined): Promise<void> {
  if (!file) return;
  if (!/^image\/(png|jpeg)$/.test(file.type)) {
    showError(`${file.name || "that file"} is ${file.type || "of an unknown type"}; choose a PNG or JPEG image`);
    return;
  }
  showError(null);
  const gen = ++generation;
  pad.clear();
  resetPrediction(`reading ${file.name}…`);
  try {
    // Upright and at most 1024 pixels on its long side: a phone photo is never too large.
    const picture = await fitPhoto(file);
    if (gen !== generation) return;
    source = picture;
    classifySoon();
  } catch (e) {
    if (gen === generation) showError(describe(e));
  }
}

const input = $<HTMLInputElement>("file");
input.addEventListener("change", () => {
  void chooseFile(input.files?.[0]);
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
  void chooseFile(e.dataTransfer?.files[0]);
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
  if (pad.empty && source === "pad") resetPrediction(numberMode() ? "write a number" : "draw a digit");
  else classifySoon();
}

void loadModels();
