// The backends there are, and the one to use by default.
import {
  type Backend,
  firstNonFinite,
  integerFirstLayer,
  type LoadedNetwork,
  layerShape,
  type NetworkSpec,
  NonFiniteWeightError,
  tensorSizes,
  type WeightTensor,
} from "./backend";
import { softmax } from "./functions";
import { forward, forwardPixels, type Network } from "./network";
import { createWasmBackend } from "./wasm";

/**
 * The JS kernels (network.ts): the backend where there is no Wasm kernel
 * (the browser page), and the one tests and the bench compare Wasm with.
 * A network runs on its F32 values where they are, uncopied.
 */
export class JsBackend implements Backend {
  readonly name = "JS";

  load(spec: NetworkSpec, layers: { W: WeightTensor; b: WeightTensor }[]): LoadedNetwork {
    const { sizes, activations } = spec;
    const values = (t: WeightTensor, n: number): Float32Array => {
      const v = t.values();
      if (v.length !== n) throw new Error(`tensor "${t.name}" holds ${v.length} values; the network's shape needs ${n}`);
      const bad = firstNonFinite(v);
      if (bad >= 0) throw new NonFiniteWeightError(t.name, bad, v[bad]);
      return v;
    };
    const net: Network = {
      layers: activations.map((activation, i) => {
        const n = tensorSizes(spec, i);
        return {
          W: values(layers[i].W, n.W),
          b: values(layers[i].b, n.b),
          inSize: sizes[i],
          outSize: sizes[i + 1],
          activation,
          ...layerShape(spec, i),
          ...(i === 0 && integerFirstLayer(spec, layers[0].W) ? { int8: int8Of(layers[0].W) } : {}),
        };
      }),
    };
    return {
      sizes: [...sizes],
      forward: (x, N, opts) => forward(net, x, N, opts),
      forwardPixels: (pixels, N, scale, opts) => forwardPixels(net, pixels, N, scale, opts),
      softmax: (a, C) => softmax(a, C),
      toNetwork: () => ({ layers: net.layers.map(({ int8: _, ...l }) => ({ ...l, W: l.W.slice(), b: l.b.slice() })) }),
    };
  }
}

/** An I8 weight's bytes and column scales, copied (a tensor's bytes are borrowed), for forwardPixels' integer first layer. */
function int8Of(W: WeightTensor): { q: Int8Array; scale: Float32Array } {
  // An Int8Array's slice copies (a Buffer's would not).
  return { q: new Int8Array(W.bytes.buffer, W.bytes.byteOffset, W.bytes.byteLength).slice(), scale: (W.scale as { values: Float32Array }).values.slice() };
}

/**
 * A backend of its own for one owner (a registry, a script, a test): the
 * fastest this runtime has, a new Wasm kernel instance where there is one,
 * else the JS kernels.
 */
export function createBackend(): Backend {
  return createWasmBackend() ?? new JsBackend();
}
