// A network as an ONNX model, for running the same weights through
// onnxruntime-web in the benchmark: per dense layer one Gemm (x·W + b) and one
// activation; per convolution a Conv (NCHW, pads and strides), its activation
// and a MaxPool; a Flatten before the first dense layer after a convolution
// (channel, row, column: the order ours reads); a Mul where a layer scales its
// input (the book's inference-time dropout). The protobuf is written by hand
// (only the fields a model needs), so the benchmark needs no ONNX tooling.
// Field numbers are those of onnx.proto.
import type { Network } from "../../src/nn/network";

const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;
const ATTR_INT = 2; // AttributeProto.AttributeType
const ATTR_INTS = 7;
const OPS: Record<string, string> = { sigmoid: "Sigmoid", relu: "Relu", softmax: "Softmax" };

class Proto {
  private parts: number[] = [];
  private varint(v: number | bigint): void {
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n;
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n) b |= 0x80;
      this.parts.push(b);
    } while (n);
  }
  int(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }
  bytes(field: number, b: Uint8Array | Proto): this {
    const data = b instanceof Proto ? b.done() : b;
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const x of data) this.parts.push(x);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function tensor(name: string, dims: number[], data: Float32Array | BigInt64Array): Proto {
  const t = new Proto();
  for (const d of dims) t.int(1, d);
  t.int(2, data instanceof BigInt64Array ? INT64 : FLOAT).str(8, name);
  return t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** A float tensor of shape [N, size] with N symbolic. */
function valueInfo(name: string, size: number): Proto {
  const shape = new Proto().bytes(1, new Proto().str(2, "N")).bytes(1, new Proto().int(1, size));
  return new Proto().str(1, name).bytes(2, new Proto().bytes(1, new Proto().int(1, FLOAT).bytes(2, shape)));
}

function node(op: string, inputs: string[], output: string, attrs: Record<string, number | number[]> = {}): Proto {
  const n = new Proto();
  for (const i of inputs) n.str(1, i);
  n.str(2, output).str(3, output).str(4, op);
  for (const [k, v] of Object.entries(attrs)) {
    const a = new Proto().str(1, k);
    if (Array.isArray(v)) for (const x of v) a.int(8, x);
    else a.int(3, v);
    n.bytes(5, a.int(20, Array.isArray(v) ? ATTR_INTS : ATTR_INT));
  }
  return n;
}

/** The ONNX model (opset 13) computing the network's probabilities: input "x" [N, D], output "y" [N, C]. */
export function onnxModel(net: Network): Uint8Array {
  const g = new Proto();
  const init: Proto[] = [];
  const L = net.layers.length;
  let z = "x";
  // The shape z has: "flat" [N, size] or "planes" [N, C, H, W].
  let planes = false;
  net.layers.forEach((l, i) => {
    const t = (s: string) => `${s}${i + 1}`;
    if (l.scale !== undefined) {
      init.push(tensor(t("s"), [], Float32Array.of(l.scale)));
      g.bytes(1, node("Mul", [z, t("s")], t("scaled")));
      z = t("scaled");
    }
    const a = t("a");
    if (l.conv) {
      const { C, IH, IW, F, KH, KW, stride, pad } = l.conv;
      if (!planes) {
        init.push(tensor(t("shape"), [4], BigInt64Array.of(-1n, BigInt(C), BigInt(IH), BigInt(IW))));
        g.bytes(1, node("Reshape", [z, t("shape")], t("planes")));
        z = t("planes");
        planes = true;
      }
      g.bytes(1, node("Conv", [z, t("W"), t("b")], a, { kernel_shape: [KH, KW], pads: [pad, pad, pad, pad], strides: [stride, stride] }));
      init.push(tensor(t("W"), [F, C, KH, KW], l.W), tensor(t("b"), [F], l.b));
    } else {
      if (planes) {
        g.bytes(1, node("Flatten", [z], t("flat"), { axis: 1 }));
        z = t("flat");
        planes = false;
      }
      g.bytes(1, node("Gemm", [z, t("W"), t("b")], a));
      init.push(tensor(t("W"), [l.inSize, l.outSize], l.W), tensor(t("b"), [l.outSize], l.b));
    }
    const op = OPS[l.activation];
    const act = l.pool || i < L - 1 ? t("z") : "y";
    g.bytes(1, op ? node(op, [a], act, l.activation === "softmax" ? { axis: -1 } : {}) : node("Identity", [a], act));
    z = act;
    if (l.pool) {
      z = i < L - 1 ? t("p") : "y";
      g.bytes(1, node("MaxPool", [act], z, { kernel_shape: [l.pool, l.pool], strides: [l.pool, l.pool] }));
    }
  });
  g.str(2, "mnist-edge");
  for (const t of init) g.bytes(5, t);
  g.bytes(11, valueInfo("x", net.layers[0].inSize));
  g.bytes(12, valueInfo("y", net.layers[L - 1].outSize));
  return new Proto().int(1, 7).str(2, "mnist-edge").bytes(7, g).bytes(8, new Proto().str(1, "").int(2, 13)).done();
}
