// A dense network as an ONNX model, for running the same weights through
// onnxruntime-web in the benchmark: one Gemm (x·W + b) and one activation per
// layer. The protobuf is written by hand (only the fields a model needs), so
// the benchmark needs no ONNX tooling. Field numbers are those of onnx.proto.
import type { Network } from "../../src/nn/network";

const FLOAT = 1; // TensorProto.DataType
const ATTR_INT = 2; // AttributeProto.AttributeType
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

function tensor(name: string, dims: number[], data: Float32Array): Proto {
  const t = new Proto();
  for (const d of dims) t.int(1, d);
  t.int(2, FLOAT).str(8, name);
  return t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** A float tensor of shape [N, size] with N symbolic. */
function valueInfo(name: string, size: number): Proto {
  const shape = new Proto().bytes(1, new Proto().str(2, "N")).bytes(1, new Proto().int(1, size));
  return new Proto().str(1, name).bytes(2, new Proto().bytes(1, new Proto().int(1, FLOAT).bytes(2, shape)));
}

function node(op: string, inputs: string[], output: string, attrs: Record<string, number> = {}): Proto {
  const n = new Proto();
  for (const i of inputs) n.str(1, i);
  n.str(2, output).str(3, output).str(4, op);
  for (const [k, v] of Object.entries(attrs)) n.bytes(5, new Proto().str(1, k).int(3, v).int(20, ATTR_INT));
  return n;
}

/** The ONNX model (opset 13) computing the network's probabilities: input "x" [N, D], output "y" [N, C]. */
export function onnxModel(net: Network): Uint8Array {
  const g = new Proto();
  let z = "x";
  net.layers.forEach((l, i) => {
    const a = `a${i + 1}`;
    g.bytes(1, node("Gemm", [z, `W${i + 1}`, `b${i + 1}`], a));
    const op = OPS[l.activation];
    z = i === net.layers.length - 1 ? "y" : `z${i + 1}`;
    g.bytes(1, op ? node(op, [a], z, l.activation === "softmax" ? { axis: -1 } : {}) : node("Identity", [a], z));
  });
  g.str(2, "mnist-edge");
  net.layers.forEach((l, i) => {
    g.bytes(5, tensor(`W${i + 1}`, [l.inSize, l.outSize], l.W));
    g.bytes(5, tensor(`b${i + 1}`, [l.outSize], l.b));
  });
  g.bytes(11, valueInfo("x", net.layers[0].inSize));
  g.bytes(12, valueInfo("y", net.layers[net.layers.length - 1].outSize));
  return new Proto().int(1, 7).str(2, "mnist-edge").bytes(7, g).bytes(8, new Proto().str(1, "").int(2, 13)).done();
}
