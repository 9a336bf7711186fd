// Optimisers for training (book, chapter 6).

/** Adam (Kingma & Ba) with decoupled weight decay, one parameter tensor at a time. */
export class Adam {
  private m: Float32Array[] = [];
  private v: Float32Array[] = [];
  t = 0;
  constructor(
    params: Float32Array[],
    public beta1 = 0.9,
    public beta2 = 0.999,
    public eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  /** Advances the step count (bias correction); call once per batch, before that batch's updates. */
  tick(): void {
    this.t++;
  }

  update(i: number, p: Float32Array, g: Float32Array, lr: number, weightDecay = 0): void {
    const m = this.m[i];
    const v = this.v[i];
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const step = lr / c1;
    for (let k = 0; k < p.length; k++) {
      const gk = g[k];
      m[k] = b1 * m[k] + (1 - b1) * gk;
      v[k] = b2 * v[k] + (1 - b2) * gk * gk;
      p[k] -= (step * m[k]) / (Math.sqrt(v[k] / c2) + this.eps) + lr * weightDecay * p[k];
    }
  }
}
