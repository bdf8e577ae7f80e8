import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import * as pl from "nodejs-polars";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/random";
import {
  barChart,
  heatmap,
  histogramDensity,
  lineChart,
  logCurve,
  pointGroups,
  quiver,
  scatter,
  trainingCurves,
  type ChartSpec,
} from "../lib/viz/charts";
import { figure, saveFigure } from "../lib/viz/figures";
import { measuresRealFont, textWidth } from "../lib/viz/fonts";
import {
  DIVERGING_NEGATIVE,
  DIVERGING_POSITIVE,
  TITLE_BAND,
  TITLE_HEIGHT,
  divergingColor,
  grayLevel,
  gridLayout,
  gridSvg,
  imageGrid,
} from "../lib/viz/grid";
import { readManifest, readRunState } from "../lib/viz/manifest";
import { crc32, encodePng, type RasterImage } from "../lib/viz/png";
import { compileChart, renderChart } from "../lib/viz/render";
import { svgToPng } from "../lib/viz/rasterize";
import { saveTable, tableHtml } from "../lib/viz/tables";

/** A small PNG decoder (8-bit, non-interlaced) that checks every chunk's CRC. */
function decodePng(png: Uint8Array): RasterImage {
  const buf = Buffer.from(png);
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  let width = 0;
  let height = 0;
  let channels: 1 | 3 | 4 = 1;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (at < buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + length);
    assert.equal(
      buf.readUInt32BE(at + 8 + length),
      crc32(buf.subarray(at + 4, at + 8 + length)),
      `${type} CRC`,
    );
    types.push(type);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      assert.equal(body[8], 8, "bit depth");
      const perType = ({ 0: 1, 2: 3, 6: 4 } as Record<number, 1 | 3 | 4>)[body[9]!];
      assert.ok(perType !== undefined, `colour type ${body[9]}`);
      channels = perType;
      assert.equal(body[12], 0, "interlace");
    }
    if (type === "IDAT") idat.push(body);
    at += 12 + length;
  }
  assert.deepEqual([types[0], types[types.length - 1]], ["IHDR", "IEND"]);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? data[y * stride + i - channels]! : 0;
      const b = y > 0 ? data[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? data[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.ok(pred !== undefined, `filter type ${filter}`);
      data[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, channels, data };
}

function pixel(image: RasterImage, x: number, y: number): number[] {
  const at = (y * image.width + x) * image.channels;
  return [...image.data.subarray(at, at + image.channels)];
}

function randomImage(rng: Rng, width: number, height: number, channels: 1 | 3 | 4): RasterImage {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width, height, channels, data };
}

/** A temporary figures folder in DLC_FIGURES_DIR for the duration of a test. */
function withFiguresDir(): { dir: string; restore: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-figures-"));
  const saved = { figures: process.env.DLC_FIGURES_DIR, state: process.env.DLC_RUN_STATE };
  process.env.DLC_FIGURES_DIR = dir;
  delete process.env.DLC_RUN_STATE;
  return {
    dir,
    restore: () => {
      for (const [k, v] of [
        ["DLC_FIGURES_DIR", saved.figures],
        ["DLC_RUN_STATE", saved.state],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

describe("viz/png", () => {
  it("round-trips random gray, RGB and RGBA images through a reference decoder", () => {
    const rng = Rng.stream("test/viz/png");
    for (const channels of [1, 3, 4] as const) {
      for (let trial = 0; trial < 3; trial++) {
        const image = randomImage(rng, 1 + rng.int(40), 1 + rng.int(30), channels);
        const decoded = decodePng(encodePng(image));
        assert.deepEqual(
          [decoded.width, decoded.height, decoded.channels],
          [image.width, image.height, channels],
        );
        assert.deepEqual(decoded.data, image.data);
      }
    }
  });

  it("computes the standard CRC-32 and gives identical bytes on every call", () => {
    assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
    const image = randomImage(Rng.stream("test/viz/png-same"), 17, 9, 3);
    assert.deepEqual(encodePng(image), encodePng({ ...image, data: image.data.slice() }));
  });

  it("rejects data of the wrong size", () => {
    assert.throws(
      () => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) }),
      /expected 2\*2\*1 = 4 bytes, got 3/,
    );
  });
});

describe("viz/grid", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("lays out 3 rows x 12 MNIST-sized digits with the documented size and pixels", () => {
    const rng = Rng.stream("test/viz/grid");
    const images = Array.from({ length: 36 }, () =>
      Float32Array.from({ length: 784 }, () => rng.next()),
    );
    const titles = ["X (original samples)", "g∘f(X) (CNN, d = 2)", "g∘f(X) (PCA, d = 2)"];
    const png = imageGrid(images, { rows: 3, titles });
    const grid = decodePng(png);
    // pad + cols * (28 * 2 + pad) by pad + rows * (title + 28 * 2 + pad)
    assert.deepEqual(
      [grid.width, grid.height, grid.channels],
      [2 + 12 * 58, 2 + 3 * (TITLE_HEIGHT + 58), 1],
    );
    // Image 13 (row 1, column 1), source pixel (3, 5) -> output (2 + 58 + 6, 2 + 78 + 20 + 10).
    const [v] = pixel(grid, 2 + 58 + 6 + 1, 2 + 78 + TITLE_HEIGHT + 10 + 1);
    assert.equal(v, grayLevel(images[13]![5 * 28 + 3]!, 0, 1));
    assert.deepEqual(pixel(grid, 0, 0), [255], "padding is white");
    // The title strips hold dark text pixels, the padding between cells does not.
    const strip = (y0: number) =>
      Array.from(
        { length: TITLE_HEIGHT * 200 },
        (_, i) => pixel(grid, 2 + (i % 200), y0 + Math.floor(i / 200))[0]!,
      );
    assert.ok(Math.min(...strip(2)) < 80, "row title drawn");
    assert.deepEqual(imageGrid(images, { rows: 3, titles }), png, "same bytes on a second call");
  });

  it("accepts [N,H,W], [N,1,H,W] and [N,H*W] tensors alike, frees nothing it does not own", () => {
    const data = Float32Array.from({ length: 5 * 4 * 4 }, (_, i) => (i % 7) / 6);
    const a = tf.tensor3d(data, [5, 4, 4]);
    const b = tf.tensor4d(data, [5, 1, 4, 4]);
    const c = tf.tensor2d(data, [5, 16]);
    const before = tf.memory().numTensors;
    const pngs = [a, b, c].map((t) => imageGrid(t, { scale: 3 }));
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(pngs[1], pngs[0]);
    assert.deepEqual(pngs[2], pngs[0]);
    const grid = decodePng(pngs[0]!);
    assert.deepEqual([grid.width, grid.height], [2 + 5 * 14, 2 + 14]);
    tf.dispose([a, b, c]);
  });

  it("maps the diverging colormap -max / 0 / +max to blue / white / red", () => {
    assert.deepEqual(divergingColor(-3, 3), [...DIVERGING_NEGATIVE]);
    assert.deepEqual(divergingColor(0, 3), [255, 255, 255]);
    assert.deepEqual(divergingColor(3, 3), [...DIVERGING_POSITIVE]);
    assert.deepEqual(divergingColor(10, 3), [...DIVERGING_POSITIVE], "clamped");
    assert.deepEqual(divergingColor(1.5, 3), [217, 140, 149], "half way to red");
    const grid = decodePng(
      imageGrid([[-2, 0, 2, 1]], {
        colormap: "diverging",
        scale: 1,
        pad: 0,
        imageShape: [1, 4],
        colorbar: false,
      }),
    );
    assert.equal(grid.channels, 3);
    assert.deepEqual(pixel(grid, 0, 0), [...DIVERGING_NEGATIVE]);
    assert.deepEqual(pixel(grid, 1, 0), [255, 255, 255]);
    assert.deepEqual(pixel(grid, 2, 0), [...DIVERGING_POSITIVE]);
    assert.deepEqual(pixel(grid, 3, 0), divergingColor(1, 2));
  });

  it("clamps gray values to the range and draws RGB images", () => {
    assert.deepEqual(
      [grayLevel(-1, 0, 1), grayLevel(0.5, 0, 1), grayLevel(2, 0, 1)],
      [0, 128, 255],
    );
    // [N, C, H, W]: red plane, green plane, blue plane of a 1 x 2 image.
    const rgb = tf.tensor4d([1, 0, 0, 0.5, 0, 1], [1, 3, 1, 2]);
    const grid = decodePng(imageGrid(rgb, { scale: 1, pad: 0 }));
    assert.deepEqual(
      [pixel(grid, 0, 0), pixel(grid, 1, 0)],
      [
        [255, 0, 0],
        [0, 128, 255],
      ],
    );
    rgb.dispose();
  });

  /** Dark pixels of a gray or RGB grid in a box. */
  function inkIn(image: RasterImage, x0: number, y0: number, x1: number, y1: number): number[] {
    const xs: number[] = [];
    for (let y = Math.max(0, y0); y < Math.min(image.height, y1); y++)
      for (let x = Math.max(0, x0); x < Math.min(image.width, x1); x++)
        if (pixel(image, x, y)[0]! < 128) xs.push(x);
    return xs;
  }

  const digits = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      Float32Array.from({ length: 784 }, (_, p) => ((p + 7 * i) % 28 < 14 ? 0.9 : 0.1)),
    );

  it("draws the title given in a band above the images", () => {
    const title = "g∘f(X) (CNN, d = 8) <&>";
    const options = { rows: 3, cols: 12, title };
    const layout = gridLayout(digits(36), options);
    const svg = gridSvg(layout);
    // The SVG text before rasterising: exactly the title, escaped, centred, bold.
    const texts = [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)];
    assert.equal(texts.length, 1);
    assert.equal(texts[0]![2], "g∘f(X) (CNN, d = 8) &lt;&amp;&gt;");
    assert.match(texts[0]![1]!, /font-weight="bold"/);
    assert.match(texts[0]![1]!, /text-anchor="middle"/);
    assert.equal(layout.cells[0]!.y, 2 + TITLE_BAND, "images start under the title band");
    assert.equal(layout.height, 2 + TITLE_BAND + 3 * (56 + 2));
    // In the PNG: ink in the title band, around the middle, as wide as the measured text.
    const grid = decodePng(imageGrid(digits(36), options));
    assert.deepEqual([grid.width, grid.height], [layout.width, layout.height]);
    const ink = inkIn(grid, 0, 2, grid.width, 2 + TITLE_BAND - 2);
    assert.ok(ink.length > 200, "title drawn");
    const [left, right] = [Math.min(...ink), Math.max(...ink)];
    assert.ok(Math.abs((left + right) / 2 - grid.width / 2) < 3, "centred");
    if (measuresRealFont()) {
      const measured = textWidth(title, 14, true);
      assert.ok(right - left <= measured && right - left > 0.9 * measured, `ink ${right - left}`);
    }
    // A title wider than the images widens the picture instead of being cut.
    const narrow = gridLayout(digits(2), { title: "a long title over two small digits" });
    assert.equal(narrow.texts[0]!.text, "a long title over two small digits");
    assert.ok(narrow.width > 2 + 2 * 58 && narrow.cells[0]!.x > 2, "images centred under it");
  });

  it("puts each image's label under that image, and column and row labels in line", () => {
    const labels = Array.from({ length: 24 }, (_, i) => (i * 7) % 10);
    const options = {
      rows: 2,
      cols: 12,
      title: "interpolation",
      imageLabels: labels,
      colLabels: Array.from({ length: 12 }, (_, c) => `α=${(c / 11).toFixed(2)}`),
      rowLabels: ["pair 1", "pair 2"],
    };
    const layout = gridLayout(digits(24), options);
    const { cellWidth: cw, cellHeight: ch, cells } = layout;
    const byRole = (role: string) => layout.texts.filter((t) => t.role === role);
    byRole("image").forEach((t, i) => {
      assert.equal(t.text, String(labels[i]));
      assert.equal(t.anchor, "middle");
      assert.equal(t.x, cells[i]!.x + cw / 2, `label ${i} centred on its image`);
      assert.ok(t.y > cells[i]!.y + ch && t.y < cells[i]!.y + ch + 15, `label ${i} just under it`);
    });
    byRole("column").forEach((t, c) => {
      assert.equal(t.x, cells[c]!.x + cw / 2, `column ${c} label centred`);
      assert.ok(t.y < cells[c]!.y, "above the first row");
    });
    byRole("row").forEach((t, r) => {
      assert.equal(t.anchor, "end");
      assert.ok(t.x <= cells[12 * r]!.x, "at the left of the row");
      assert.ok(t.y > cells[12 * r]!.y && t.y < cells[12 * r]!.y + ch, "within the row's height");
    });
    // In the PNG, the ink of each image's label lies under that image.
    const grid = decodePng(imageGrid(digits(24), options));
    cells.forEach((cell, i) => {
      const ink = inkIn(grid, 0, cell.y + ch, grid.width, cell.y + ch + 14).filter(
        (x) => x >= cell.x - 1 && x <= cell.x + cw,
      );
      assert.ok(ink.length > 5, `label ${i} drawn under image ${i}`);
      const mid = (Math.min(...ink) + Math.max(...ink)) / 2;
      assert.ok(Math.abs(mid - (cell.x + cw / 2)) < 3, `label ${i} centred (${mid})`);
    });
    // Labels too wide for their column shrink, then are cut: never over the neighbours.
    const wide = gridLayout(digits(2), { imageLabels: ["a very long label indeed", "7"] });
    assert.ok(textWidth(wide.texts[0]!.text, wide.texts[0]!.size) <= wide.cellWidth + 2);
    assert.match(wide.texts[0]!.text, /…$/);
  });

  it("adds a colour bar with its values to maps of values, not to pictures", () => {
    const signed = [Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 4)];
    const diverging = gridLayout(signed, { colormap: "diverging", imageShape: [4, 4] });
    assert.ok(diverging.colorbar !== null);
    assert.deepEqual(
      diverging.texts.filter((t) => t.role === "colorbar").map((t) => t.text),
      ["−2", "0", "2"],
      "the batch's max |value| at the ends",
    );
    const counts = gridLayout([new Float32Array(16)], {
      range: [0, 4],
      colorbar: "placements",
      imageShape: [4, 4],
    });
    assert.deepEqual(
      counts.texts.filter((t) => t.role === "colorbar").map((t) => t.text),
      ["placements", "0", "2", "4"],
    );
    assert.equal(gridLayout(digits(2)).colorbar, null, "images in [0, 1]: no bar");
    assert.equal(gridLayout(signed, { colormap: "diverging", colorbar: false }).colorbar, null);
    // The bar's pixels run through the map: blue, white, red; its ticks under their values.
    const png = decodePng(imageGrid(signed, { colormap: "diverging", imageShape: [4, 4] }));
    const bar = diverging.colorbar!;
    const yMid = bar.y + bar.height / 2;
    assert.deepEqual(pixel(png, bar.x, yMid), [...DIVERGING_NEGATIVE]);
    assert.deepEqual(pixel(png, bar.x + bar.width - 1, yMid), [...DIVERGING_POSITIVE]);
    const centre = pixel(png, bar.x + Math.round((bar.width - 1) / 2), yMid);
    assert.ok(
      centre.every((v) => v > 245),
      `white in the middle: ${centre}`,
    );
    const zero = diverging.texts.find((t) => t.text === "0")!;
    assert.ok(Math.abs(zero.x - (bar.x + (bar.width - 1) / 2)) < 1);
  });

  it("says what is wrong with bad input", () => {
    const four = Array.from({ length: 4 }, () => new Float32Array(9));
    assert.throws(
      () => imageGrid(four, { rows: 1, cols: 3 }),
      /1 rows x 3 columns cannot hold 4 images/,
    );
    assert.throws(() => imageGrid(four, { rows: 2, titles: ["a"] }), /1 titles for 2 rows/);
    assert.throws(
      () => imageGrid(four, { rows: 2, imageLabels: [1, 2, 3] }),
      /3 image labels for 4 images; give one per image/,
    );
    assert.throws(
      () => imageGrid(four, { rows: 2, colLabels: ["a"] }),
      /1 column labels for 2 columns/,
    );
    assert.throws(() => imageGrid(four, { rows: 2, rowLabels: [] }), /0 row labels for 2 rows/);
    assert.throws(() => imageGrid([new Float32Array(10)]), /not square; pass imageShape/);
    assert.throws(() => imageGrid([]), /non-empty array/);
    const t = tf.zeros([2, 2, 3, 3]);
    assert.throws(() => imageGrid(t), /shape \[2, 2, 3, 3\]/);
    t.dispose();
  });
});

describe("viz/charts", () => {
  const rng = Rng.stream("test/viz/charts");
  const normal = Array.from({ length: 500 }, () => rng.normal());
  const specs = {
    curves: trainingCurves({ train: [0.3, 0.2, 0.1], test: [0.35, 0.3, 0.25] }, { logY: true }),
    line: lineChart([{ name: "a", x: [0, 1, 2], y: [1, 4, 9] }]),
    scatter: scatter({
      x: normal.slice(0, 50),
      y: normal.slice(50, 100),
      label: normal.slice(0, 50).map((_, i) => i % 10),
    }),
    quiver: quiver({ x: [0, 1], y: [0, 1], dx: [1, 0], dy: [0, 1] }),
    histogram: histogramDensity(normal, (x) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)),
    heatmap: heatmap(
      [
        [1, -1],
        [0, 2],
      ],
      { diverging: true },
    ),
    bars: barChart([
      { label: "PCA", value: 0.05 },
      { label: "CNN", value: 0.02 },
    ]),
  } satisfies Record<string, ChartSpec>;

  it("builds specs that vega-lite compiles", async () => {
    for (const [name, spec] of Object.entries(specs)) {
      const compiled = (await compileChart(spec)) as { marks?: unknown[] };
      assert.ok(Array.isArray(compiled.marks) && compiled.marks.length > 0, `${name} has marks`);
    }
  });

  it("renders a chart to the same SVG and PNG bytes twice, PNG at twice the SVG size", async () => {
    const first = await renderChart(specs.curves);
    await renderChart(specs.scatter); // something else in between must not change ids
    const second = await renderChart(specs.curves);
    assert.equal(second.svg, first.svg);
    assert.deepEqual(second.png, first.png);
    assert.match(first.svg, /^<svg/);
    const png = decodePng(first.png);
    assert.deepEqual([png.width, png.height], [2 * first.width, 2 * first.height]);
  });

  it("normalises the histogram to a density and turns quiver heads along the arrows", () => {
    const layer = (
      specs.histogram.layer as { data: { values: { x: number; x2: number; y: number }[] } }[]
    )[0]!;
    const area = layer.data.values.reduce((s, b) => s + b.y * (b.x2 - b.x), 0);
    assert.ok(Math.abs(area - 1) < 1e-3, `area ${area}`);
    const heads = (specs.quiver.layer as { data: { values: { angle: number }[] } }[])[1]!.data
      .values;
    assert.deepEqual(
      heads.map((h) => h.angle),
      [90, 0],
      "right = 90 degrees, up = 0 (square plot, equal extents)",
    );
  });

  /** The text elements of an SVG, unescaped enough for plain labels. */
  const svgTexts = (svg: string) =>
    [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

  it("keeps whole legend labels, titled by what they encode (the 7.2 chart)", async () => {
    const d = [2, 4, 8, 16, 32];
    const spec = lineChart(
      [
        { name: "autoencoder", x: d, y: [0.047, 0.0321, 0.0202, 0.0116, 0.0061] },
        { name: "PCA", x: d, y: [0.0556, 0.0479, 0.0374, 0.0268, 0.0168] },
        { name: "PyTorch AE, 2 epochs", x: d, y: [0.0471, 0.0332, 0.0204, 0.0115, 0.0063] },
      ],
      { logX: true, xTicks: d, xTitle: "d", yTitle: "test MSE per pixel", seriesTitle: "model" },
    );
    const { svg } = await renderChart(spec);
    const texts = svgTexts(svg);
    for (const label of ["autoencoder", "PCA", "PyTorch AE, 2 epochs", "model"])
      assert.ok(texts.includes(label), `"${label}" in ${JSON.stringify(texts)}`);
    assert.ok(!texts.some((t) => t.includes("…")), "nothing cut");
    assert.ok(!texts.includes("series"), "no legend called series");
  });

  it("draws train and test of one model in one colour, test dashed", async () => {
    const spec = trainingCurves(
      {
        "d = 2": { train: [0.06, 0.05], test: [0.055, 0.049] },
        "d = 8": {
          train: { x: [0.5, 1, 1.5, 2], y: [0.04, 0.03, 0.025, 0.02] },
          test: [0.03, 0.021],
        },
      },
      { modelTitle: "d" },
    );
    const enc = spec.encoding as Record<
      "color" | "strokeDash",
      { field: string; title: string; scale?: object }
    >;
    assert.equal(enc.color.field, "series");
    assert.equal(enc.color.title, "d");
    assert.equal(enc.strokeDash.title, "data");
    assert.deepEqual(enc.strokeDash.scale, {
      domain: ["train", "test"],
      range: [
        [1, 0],
        [6, 3],
      ],
    });
    const { svg } = await renderChart(spec);
    // One path per curve: same stroke for a model's train and test, test dashed.
    const lines = [
      ...svg.matchAll(
        /<path [^>]*aria-roledescription="line mark"[^>]*stroke="(#[0-9a-f]{6})"[^>]*>/g,
      ),
    ];
    assert.equal(lines.length, 4, "four curves");
    const strokes = lines.map((m) => m[1]);
    const dashed = lines.map((m) => /stroke-dasharray="6,3"/.test(m[0]));
    assert.deepEqual(dashed.filter(Boolean).length, 2);
    assert.equal(new Set(strokes).size, 2, "two colours for two models");
    const texts = svgTexts(svg);
    for (const label of ["d", "data", "train", "test", "d = 2", "d = 8"])
      assert.ok(texts.includes(label), `"${label}" in the legends`);
    // The dash legend draws visible gray lines (vega-lite leaves point symbols unstroked).
    const legendLines = [
      ...svg.matchAll(/role-legend-symbol[^>]*><path [^>]*stroke-dasharray="([\d,]+)"[^>]*>/g),
    ];
    assert.deepEqual(
      legendLines.map((m) => [m[1], /stroke="#666666"/.test(m[0])]),
      [
        ["1,0", true],
        ["6,3", true],
      ],
    );
    // One model: one colour and no colour legend, only the dash legend.
    const one = trainingCurves({ train: [0.3, 0.2], test: [0.35, 0.3] });
    assert.equal((one.encoding as Record<string, unknown>).color, undefined);
  });

  it("uses log axes only where the data span a decade, and percent axes on request", async () => {
    const yScale = (spec: ChartSpec) =>
      (spec.encoding as { y: { scale: { type?: string } } }).y.scale.type;
    const within = [{ name: "a", x: [1, 2, 3], y: [0.0061, 0.02, 0.0556] }];
    const decades = [{ name: "a", x: [1, 2, 3], y: [0.001, 0.05, 0.5] }];
    assert.equal(yScale(lineChart(within, { logY: "auto" })), undefined, "9x: linear");
    assert.equal(yScale(lineChart(decades, { logY: "auto" })), "log", "500x: log");
    assert.equal(yScale(trainingCurves({ train: [60, 40, 30] })), undefined, "curves: auto");
    assert.equal(yScale(trainingCurves({ train: [60, 4, 0.3] })), "log");
    const kept = lineChart([{ name: "AE", x: [2, 4, 8], y: [0.51, 0.8, 0.9] }], { yPercent: true });
    const texts = svgTexts((await renderChart(kept)).svg);
    assert.ok(texts.includes("50%") && texts.includes("90%"), JSON.stringify(texts));
    const bars = barChart([{ label: "AE", value: 0.9 }], { yPercent: true });
    assert.ok(svgTexts((await renderChart(bars)).svg).includes("80%"));
  });

  it("scatter: chosen colours, a few points emphasized, a zoom that clips the rest", async () => {
    const data = { x: [0, 0.5, 0.2, 9], y: [0, 0.5, 0.1, 9], label: ["a", "a", "b", "a"] };
    const spec = scatter(data, {
      colors: { a: "#aaaaaa", b: "#ff0000" },
      emphasize: ["b"],
      xDomain: [-1, 1],
      yDomain: [-1, 1],
    });
    const { svg } = await renderChart(spec);
    const points = svg.match(/<path aria-label="x: [^>]*>/g) ?? [];
    // The point at (9, 9) is outside the zoom; the one labelled b is red, large, outlined.
    assert.deepEqual(
      points.map((p) => /label: (\w)/.exec(p)?.[1]),
      ["a", "a", "b"],
    );
    const b = points[2]!;
    assert.match(b, /fill="#ff0000"/);
    assert.match(b, /stroke="black"/);
    assert.match(points[0]!, /fill="#aaaaaa"/);
    assert.doesNotMatch(points[0]!, /stroke="black"/);
    const radius = (p: string) => Number(/d="M([\d.]+),0A/.exec(p)?.[1]);
    assert.ok(Math.abs(radius(b) / radius(points[0]!) - Math.sqrt(8)) < 0.01, "8 times the area");
    assert.throws(
      () => scatter(data, { colors: { a: "red" } }),
      /no colour for label\(s\) b; give every label one/,
    );
    assert.throws(() => scatter(data, { emphasize: ["c"] }), /cannot emphasize c/);
  });

  it("rejects mismatched or non-finite data", () => {
    assert.throws(() => scatter({ x: [1, 2], y: [1] }), /same length/);
    assert.throws(() => lineChart([{ name: "a", x: [1], y: [Number.NaN] }]), /is NaN/);
    assert.throws(
      () => trainingCurves({ a: { train: [0, 1] } }, { logY: true }),
      /log scale needs values > 0/,
    );
  });
});

describe("viz/fonts", () => {
  it("measures text as resvg draws it (DejaVu Sans advance widths)", function () {
    if (!measuresRealFont()) this.skip(); // no DejaVu Sans here: widths are estimates
    for (const [text, size, bold] of [
      ["PyTorch AE, 2 epochs", 10, false],
      ["g∘f(X) (CNN, d = 8)", 14, true],
      ["WWWW iiii 0.0213", 12, false],
    ] as const) {
      const width = textWidth(text, size, bold);
      const svg =
        `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="10" y="30" ` +
        `font-family="sans-serif" font-size="${size}"${bold ? ' font-weight="bold"' : ""}>` +
        `${text}</text></svg>`;
      const grid = decodePng(svgToPng(svg, { background: "white" }));
      const ink = [];
      for (let y = 0; y < grid.height; y++)
        for (let x = 0; x < grid.width; x++) if (pixel(grid, x, y)[0]! < 160) ink.push(x);
      const drawn = Math.max(...ink) - Math.min(...ink) + 1;
      // Never narrower than the ink (nothing clipped); a little wider: the end glyphs' side
      // bearings and the kerning resvg applies (vega's estimate was 0.8 em a character).
      assert.ok(width >= drawn && width <= 1.05 * drawn + 2, `${text}: ${width} vs ${drawn}`);
    }
  });
});

describe("viz/figures and tables", () => {
  it("saves figures atomically and records them in the manifest with the run state", async () => {
    const { dir, restore } = withFiguresDir();
    try {
      const stateFile = path.join(dir, "run-state.json");
      const startedAt = Date.now() - 5000;
      fs.writeFileSync(
        stateFile,
        JSON.stringify({ notebook: "7.2-autoencoders.ipynb", cell: 12, startedAt }),
      );
      process.env.DLC_RUN_STATE = stateFile;
      assert.deepEqual(readRunState(), { notebook: "7.2-autoencoders.ipynb", cell: 12, startedAt });

      const images = [new Float32Array(16).fill(0.25), new Float32Array(16).fill(0.75)];
      const fig = figure({
        section: "7.2",
        name: "grid",
        caption: "two squares",
        slide: "slide 3",
      });
      fig.grid(images);
      await figure({ section: "7.2", name: "curves", caption: "curves" }).chart(
        trainingCurves({ train: [0.3, 0.2] }),
      );
      fig.grid(images, { scale: 1 }); // re-saving replaces the entry

      const manifest = readManifest(dir);
      assert.deepEqual(
        manifest.figures.map((f) => [f.section, f.name, f.kind]),
        [
          ["7.2", "curves", "chart"],
          ["7.2", "grid", "image"],
        ],
      );
      const grid = manifest.figures[1]!;
      assert.equal(grid.notebook, "7.2-autoencoders.ipynb");
      assert.equal(grid.cell, 12);
      assert.equal(grid.slide, "slide 3");
      assert.equal(grid.caption, "two squares");
      assert.ok(
        grid.elapsedSeconds >= 5 && grid.elapsedSeconds < 60,
        `elapsed ${grid.elapsedSeconds}`,
      );
      assert.equal(grid.seed, 0);
      assert.equal(grid.dataset, "mnist");
      assert.deepEqual([grid.width, grid.height, grid.scale], [2 + 2 * (4 + 2), 2 + (4 + 2), 1]);
      assert.equal(fig.file, path.join(dir, "7.2", "grid.png"));
      const curves = manifest.figures[0]!;
      assert.deepEqual(
        curves.files.map((f) => f.path),
        ["7.2/curves.png", "7.2/curves.svg"],
      );
      for (const f of [...grid.files, ...curves.files])
        assert.equal(f.sha256, sha256(path.join(dir, f.path)));
      const left = fs.readdirSync(path.join(dir, "7.2")).sort();
      assert.deepEqual(left, ["curves.png", "curves.svg", "grid.png"], "no temporary files left");
      assert.ok(!fs.existsSync(path.join(dir, "manifest.json.lock")));
    } finally {
      restore();
    }
  });

  it("records null notebook and cell outside the main job, validates names, breaks stale locks", () => {
    const { dir, restore } = withFiguresDir();
    try {
      const png = encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.of(0) });
      assert.throws(
        () => saveFigure({ section: "7.1", name: "../x", png, caption: "c" }),
        /use letters, digits/,
      );
      assert.throws(
        () => saveFigure({ section: ".hidden", name: "x", png, caption: "c" }),
        /not starting with/,
      );
      assert.throws(
        () => saveFigure({ section: "7.1", name: "x.png", png, caption: "c" }),
        /without a file extension/,
      );
      assert.throws(
        () => saveFigure({ section: "7.1", name: "x", png, caption: " " }),
        /give a caption/,
      );
      // A lock left by a killed process long ago does not block saving.
      const lock = path.join(dir, "manifest.json.lock");
      fs.writeFileSync(lock, "");
      const old = new Date(Date.now() - 120_000);
      fs.utimesSync(lock, old, old);
      saveFigure({ section: "7.1", name: "dot", png, caption: "one pixel" });
      const entry = readManifest(dir).figures[0]!;
      assert.deepEqual([entry.notebook, entry.cell], [null, null]);
      assert.ok(!fs.existsSync(lock));
    } finally {
      restore();
    }
  });

  it("escapes table HTML, rounds floats for reading, and saves full-precision CSV", () => {
    const df = pl.DataFrame({ name: ["<b>a&b</b>", "x"], mse: [0.0512345678, 2] });
    const html = tableHtml(df, { caption: "MSE <by> d" });
    assert.ok(!html.includes("<b>a&b</b>"));
    assert.match(html, /<td>&lt;b&gt;a&amp;b&lt;\/b&gt;<\/td>/);
    assert.match(html, /<caption>MSE &lt;by&gt; d<\/caption>/);
    assert.match(html, /<td style="text-align:right">0\.05123<\/td>/);
    const many = pl.DataFrame({ i: Array.from({ length: 30 }, (_, i) => i) });
    assert.match(tableHtml(many, { maxRows: 5 }), /… 25 more rows \(30 in all\)/);
    assert.equal((tableHtml(many, { maxRows: 5 }).match(/<tr>/g) ?? []).length, 6);

    const { dir, restore } = withFiguresDir();
    try {
      const file = saveTable(df, { section: "7.2", name: "mse", caption: "MSE" });
      assert.equal(file, path.join(dir, "7.2", "mse.csv"));
      assert.equal(fs.readFileSync(file, "utf8"), "name,mse\n<b>a&b</b>,0.0512345678\nx,2.0\n");
      const entry = readManifest(dir).tables[0]!;
      assert.deepEqual([entry.name, entry.rows, entry.columns], ["mse", 2, ["name", "mse"]]);
      assert.equal(entry.files[0]!.sha256, sha256(file));
    } finally {
      restore();
    }
  });
});

describe("viz/charts: point groups and training curves from logs", () => {
  it("pointGroups: flat [x, y, ...] arrays labelled by group, in order", () => {
    const p = pointGroups({ a: [0, 1, 2, 3], b: Float32Array.from([4, 5]) });
    assert.deepEqual(p, { x: [0, 2, 4], y: [1, 3, 5], label: ["a", "a", "b"] });
    assert.throws(() => pointGroups({ odd: [1, 2, 3] }), /"odd" has 3 values, not x, y pairs/);
  });

  it("logCurve: history's train_<term> and log's test_<term> against the epoch", () => {
    const log = pl.DataFrame({ epoch: [1, 2], test_kl: [3, 2] });
    const history = pl.DataFrame({ epoch: [0.5, 1, 1.5, 2], train_kl: [5, 4, 3, 2.5] });
    assert.deepEqual(logCurve({ log, history }, "kl"), {
      train: { x: [0.5, 1, 1.5, 2], y: [5, 4, 3, 2.5] },
      test: { x: [1, 2], y: [3, 2] },
    });
    assert.throws(() => logCurve({ log, history }, "fit"), /no train_fit or test_fit/);
  });
});
