// The bundled models, named once. This file imports no weights, so Node
// scripts and tests can read it; src/model/bundled.ts maps each name to its
// file's bytes, and weights/manifest.json records each file's digest (a test
// holds the three to the same names).

/** The data set a model reads: its inputs' domain and its labels. */
export type Dataset = "mnist" | "fashion";

export interface CatalogEntry {
  /** The data set the model was trained on and is evaluated against. */
  dataset: Dataset;
}

/** Every bundled model, by name (the file is weights/{name}.safetensors). */
export const MODELS = {
  "mnist-cnn": { dataset: "mnist" },
  "mnist-mlp": { dataset: "mnist" },
  "mnist-book": { dataset: "mnist" },
  "fashion-mlp": { dataset: "fashion" },
} as const satisfies Record<string, CatalogEntry>;

export type ModelName = keyof typeof MODELS;

/** The model a request without one runs. */
export const DEFAULT_MODEL: ModelName = "mnist-cnn";

/** Every bundled model's name, the default first. */
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

/**
 * The data set a model was trained on, as its file's metadata records it
 * ("dataset"); undefined when the metadata names none this project knows.
 */
export function datasetOf(spec: { metadata: Record<string, string> }): Dataset | undefined {
  const d = spec.metadata.dataset;
  return d === "mnist" || d === "fashion" ? d : undefined;
}
