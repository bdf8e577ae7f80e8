/**
 * A small PyTorch-like module system over tfjs. Modules hold tf.Variables, compose
 * into trees (named children, as PyTorch's `_modules`), print themselves in PyTorch's
 * repr form, and free their variables on dispose().
 *
 * Tensors are NHWC inside (tfjs-native); sizes are printed C x H x W as in the lecture.
 */
import * as tf from "@tensorflow/tfjs";

export abstract class Module {
  /** The class name printed in describe(), e.g. "Conv2d". */
  abstract readonly name: string;

  /** Computes the module's output; call it inside tf.tidy (it creates intermediates). */
  abstract forward(x: tf.Tensor): tf.Tensor;

  /** This module's own parameters, in PyTorch order (weight, then bias). */
  protected ownParameters(): Array<[string, tf.Variable]> {
    return [];
  }

  /** Named sub-modules, in order. */
  children(): Array<[string, Module]> {
    return [];
  }

  /** The text inside the parentheses of a leaf's repr, e.g. "1, 32, kernel_size=(5, 5)". */
  extraRepr(): string {
    return "";
  }

  /** Every parameter with its dotted path ("encoder.0.weight"), own first, then children's. */
  namedParameters(prefix = ""): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = this.ownParameters().map(
      ([n, v]): [string, tf.Variable] => [prefix + n, v],
    );
    for (const [childName, child] of this.children()) {
      out.push(...child.namedParameters(`${prefix}${childName}.`));
    }
    return out;
  }

  /** Every trainable variable, for the optimiser. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** The number of scalar parameters. */
  parameterCount(): number {
    return this.parameters().reduce((sum, v) => sum + v.size, 0);
  }

  /** PyTorch's repr: `Name(extra)` for a leaf, nested `(key): child` lines otherwise. */
  describe(): string {
    const lines: string[] = [];
    const extra = this.extraRepr();
    if (extra !== "") lines.push(...extra.split("\n"));
    for (const [key, child] of this.children()) {
      lines.push(`(${key}): ${indentTail(child.describe(), 2)}`);
    }
    if (lines.length === 0) return `${this.name}()`;
    if (lines.length === 1 && this.children().length === 0) return `${this.name}(${lines[0]})`;
    return `${this.name}(\n  ${lines.join("\n  ")}\n)`;
  }

  toString(): string {
    return this.describe();
  }

  /** Frees every variable of this module and its children. */
  dispose(): void {
    for (const v of this.parameters()) v.dispose();
  }
}

/** PyTorch's _addindent: indents every line but the first. */
function indentTail(text: string, spaces: number): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line, i) => (i === 0 ? line : pad + line))
    .join("\n");
}

/** "(a, b)" as PyTorch prints a pair. */
export function pair(v: [number, number]): string {
  return `(${v[0]}, ${v[1]})`;
}

/** Checks that `x` is a rank-4 NHWC tensor with `channels` channels. */
export function checkNhwc(layer: string, x: tf.Tensor, channels: number): tf.Tensor4D {
  if (x.rank !== 4) {
    throw new Error(
      `${layer}: expected a 4-d NHWC tensor [N, H, W, ${channels}], got shape [${x.shape.join(", ")}]`,
    );
  }
  if (x.shape[3] !== channels) {
    throw new Error(
      `${layer}: expected ${channels} input channels (last axis, NHWC), got shape [${x.shape.join(", ")}]`,
    );
  }
  return x as tf.Tensor4D;
}
