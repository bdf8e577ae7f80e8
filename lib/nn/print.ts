/**
 * Prints tensors the way PyTorch does (`tensor([[[3., 2., 1.]]])`, four decimals when any
 * value is not an integer), so that notebook outputs read like the lecture's listings.
 */
import * as tf from "@tensorflow/tfjs";

type Nested = number | Nested[];

/** PyTorch-style text of a tensor, e.g. "tensor([[[3., 2., 1., 0., 0.]]])". */
export function torchString(t: tf.Tensor | Nested, decimals = 4): string {
  const data: Nested = t instanceof tf.Tensor ? (t.arraySync() as Nested) : t;
  const flat: number[] = [];
  const collect = (v: Nested): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else flat.push(v);
  };
  collect(data);
  const integral = flat.every((v) => Number.isInteger(v));
  const fmt = (v: number): string => {
    if (integral) return `${v === 0 ? 0 : v}.`;
    const s = v.toFixed(decimals);
    return s.startsWith("-") && Number(s) === 0 ? s.slice(1) : s;
  };
  const width = Math.max(0, ...flat.map((v) => fmt(v).length));
  let rank = 0;
  for (let v: Nested = data; Array.isArray(v); v = v[0] as Nested) rank++;
  const prefix = "tensor(";
  const render = (v: Nested, depth: number): string => {
    if (!Array.isArray(v)) return fmt(v).padStart(width);
    const parts = v.map((item) => render(item, depth + 1));
    const sep =
      depth + 1 === rank
        ? ", "
        : "," + "\n".repeat(rank - depth - 1) + " ".repeat(prefix.length + depth + 1);
    return `[${parts.join(sep)}]`;
  };
  return `${prefix}${render(data, 0)})`;
}
