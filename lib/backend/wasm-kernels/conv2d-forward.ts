/**
 * Forward Conv2D / FusedConv2D on wasm with the padding made explicit. The wasm
 * backend hands 'same' to XNNPACK as a flag, which yields zeros for a 1-wide filter
 * with stride > 1, and XNNPACK always floors the output size ('round'/'ceil' leave the
 * last row unwritten). Passing tfjs's own padding, with any rounding surplus added at
 * the bottom/right, makes the output match the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";

interface ConvAttrs {
  strides: number | [number, number];
  pad: tf.Conv2DAttrs["pad"];
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The same attributes with pad as explicit, non-negative padding and no rounding mode. */
function explicitPadding(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: ConvAttrs): ConvAttrs {
  if (Array.isArray(attrs.pad) && attrs.dimRoundingMode === undefined) return attrs;
  if (attrs.dataFormat === "NCHW") return attrs; // the wasm kernel reports it
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  // Rows that the requested output size needs beyond the padded input.
  const extraH = Math.max(
    0,
    (info.outHeight - 1) * info.strideHeight + effH - (info.inHeight + top + bottom),
  );
  const extraW = Math.max(
    0,
    (info.outWidth - 1) * info.strideWidth + effW - (info.inWidth + left + right),
  );
  return {
    ...attrs,
    pad: [
      [0, 0],
      [top, bottom + extraH],
      [left, right + extraW],
      [0, 0],
    ],
    dimRoundingMode: undefined,
  };
}

/** Wraps a wasm conv kernel so that it always receives explicit padding. */
export function withExplicitPadding(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = explicitPadding(x, filter, args.attrs as unknown as ConvAttrs);
    return original.kernelFunc({ ...args, attrs: attrs as unknown as tf.NamedAttrMap });
  };
  return { ...original, kernelFunc };
}
