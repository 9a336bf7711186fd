// Finds and reads the gzip'd IDX data sets. Paths come from environment
// variables so nothing is copied into the repository.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { IdxError, parseIdxImages, parseIdxLabels } from "../../src/data/idx";

export const MNIST_DIR = resolve(process.env.MNIST_DIR ?? "../shared/data/mnist");
export const FASHION_DIR = resolve(process.env.FASHION_MNIST_DIR ?? "/usr/share/datasets/fashion-mnist");
export const BOOK_WEIGHTS = resolve(process.env.BOOK_WEIGHTS ?? "../shared/data/book/sample_weight.pkl");

export type DatasetName = "mnist" | "fashion";
export const DATASET_DIRS: Record<DatasetName, string> = { mnist: MNIST_DIR, fashion: FASHION_DIR };
export const DATASET_HINT: Record<DatasetName, string> = {
  mnist: "set MNIST_DIR to the folder holding the four MNIST .gz files (default ../shared/data/mnist)",
  fashion: "install it with `apt-get install -y dataset-fashion-mnist` or set FASHION_MNIST_DIR",
};

export interface Split {
  count: number;
  /** count*784 pixel bytes. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

const FILES = {
  train: ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
  test: ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
} as const;

/** The files a split needs, for tests that skip when the data is absent. */
export function datasetFiles(name: DatasetName, split: "train" | "test"): string[] {
  return FILES[split].map((f) => resolve(DATASET_DIRS[name], f));
}

export function datasetPresent(name: DatasetName, split: "train" | "test" = "test"): boolean {
  return datasetFiles(name, split).every((f) => existsSync(f));
}

function readGz(path: string, hint: string): Uint8Array {
  if (!existsSync(path)) throw new IdxError(`${path} not found: ${hint}`);
  const raw = readFileSync(path);
  try {
    return raw[0] === 0x1f && raw[1] === 0x8b ? new Uint8Array(gunzipSync(raw)) : new Uint8Array(raw);
  } catch (e) {
    throw new IdxError(`${path}: not a valid gzip file (${(e as Error).message}); download it again`);
  }
}

/** Reads one split, checking magic numbers, counts, dimensions and labels. */
export function loadSplit(name: DatasetName, split: "train" | "test"): Split {
  const [imgPath, lblPath] = datasetFiles(name, split);
  return loadIdxPair(imgPath, lblPath, DATASET_HINT[name]);
}

/** Reads a pair of (optionally gzip'd) IDX files: 28x28 images and their 0-9 labels. */
export function loadIdxPair(imgPath: string, lblPath: string, hint = "check the path"): Split {
  const images = parseIdxImages(readGz(imgPath, hint), imgPath);
  const labels = parseIdxLabels(readGz(lblPath, hint), lblPath);
  if (images.rows !== 28 || images.cols !== 28) throw new IdxError(`${imgPath}: images are ${images.rows}x${images.cols}, expected 28x28`);
  if (labels.length !== images.count) throw new IdxError(`${lblPath}: ${labels.length} labels for ${images.count} images in ${imgPath}`);
  for (let i = 0; i < labels.length; i++) if (labels[i] > 9) throw new IdxError(`${lblPath}: label ${labels[i]} at index ${i} is not a class 0-9`);
  return { count: images.count, pixels: images.pixels, labels };
}

export const FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/**
 * Tests that need these files skip when they are absent, unless REQUIRE_DATA=1
 * (as .ci/run sets): then they run and fail, saying which file is missing.
 */
export function skipWithoutData(present: boolean): boolean {
  return !present && process.env.REQUIRE_DATA !== "1";
}
