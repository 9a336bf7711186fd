// The activation functions of chapter 3, named as in the book, plus the
// numerically stable softmax. Each works in place on a Float32Array and
// allocates nothing (the forward pass reuses its activation buffers); the
// batched forms take N rows of C columns.

/** Step function: 1 where x > 0, else 0. */
export function step(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = x[i] > 0 ? 1 : 0;
  return x;
}

/** Logistic sigmoid 1 / (1 + e^-x). */
export function sigmoid(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
  return x;
}

/** Rectified linear unit max(0, x). */
export function relu(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) if (!(x[i] > 0)) x[i] = 0;
  return x;
}

/** Identity: the output layer of a regression network. */
export function identity(x: Float32Array): Float32Array {
  return x;
}

/**
 * Softmax over each row of an (N, C) matrix, in place.
 * The row maximum is subtracted first, against overflow: e^(a - max) never
 * exceeds 1, so [1010, 1000, 990] gives [0.99995, 4.54e-5, 2.06e-9], not NaN.
 * Sums use float64 so rows add up to 1 within float32 rounding.
 *
 * @example softmax(new Float32Array([0.3, 2.9, 4.0])) // one row
 */
export function softmax(a: Float32Array, C: number = a.length): Float32Array {
  const N = a.length / C;
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let max = -Infinity;
    for (let j = 0; j < C; j++) if (a[o + j] > max) max = a[o + j];
    // Infinite logits have no finite maximum: all -Infinity (or NaN) reads as
    // "all equal", so the row is uniform; +Infinity entries share the mass.
    if (!(max > -Infinity)) {
      a.fill(1 / C, o, o + C);
      continue;
    }
    if (max === Infinity) max = Number.MAX_VALUE;
    let sum = 0;
    for (let j = 0; j < C; j++) {
      const e = Math.exp(Math.min(a[o + j], Number.MAX_VALUE) - max);
      a[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < C; j++) a[o + j] /= sum;
  }
  return a;
}

/** Index of the largest value in each row of an (N, C) matrix. */
export function argmax(a: Float32Array, C: number = a.length): Int32Array {
  const N = a.length / C;
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let best = 0;
    for (let j = 1; j < C; j++) if (a[o + j] > a[o + best]) best = j;
    out[n] = best;
  }
  return out;
}

const ACTIVATIONS = ["step", "sigmoid", "relu", "identity", "softmax"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export function isActivation(s: string): s is Activation {
  return (ACTIVATIONS as readonly string[]).includes(s);
}

/** Applies a named activation in place over (N, C). */
export function activate(name: Activation, a: Float32Array, C: number): Float32Array {
  switch (name) {
    case "step":
      return step(a);
    case "sigmoid":
      return sigmoid(a);
    case "relu":
      return relu(a);
    case "identity":
      return identity(a);
    case "softmax":
      return softmax(a, C);
  }
}
