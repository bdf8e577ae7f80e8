/** The open circle of lecture 7.3 and the posterior X | X~ = x~ near its gap. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/random";
import {
  openCircle,
  openCirclePoints,
  openCirclePosteriorMean,
  sampleOpenCirclePosterior,
} from "../lib/data";
import { addGaussianNoise } from "../lib/data/toy2d";

const GAP = Math.PI / 8;
/** Angular distance of a point's angle from the gap's centre (-π/2), in [0, π]. */
const fromGap = (x: number, y: number) => Math.abs(Math.atan2(x, -y));

describe("data/toy2d: the open circle", () => {
  it("points lie on the ring, never in the gap, seeded", () => {
    const pts = openCirclePoints(2000, Rng.stream("c", 0));
    let minAngle = Infinity;
    for (let i = 0; i < 2000; i++) {
      const [x, y] = [pts[2 * i]!, pts[2 * i + 1]!];
      assert.ok(Math.abs(Math.hypot(x, y) - 1) < 1e-6);
      minAngle = Math.min(minAngle, fromGap(x, y));
    }
    assert.ok(minAngle >= GAP / 2 - 1e-6 && minAngle < GAP / 2 + 0.01, `min angle ${minAngle}`);
    assert.deepEqual(openCirclePoints(5, Rng.stream("c", 0)), pts.subarray(0, 10));
    assert.notDeepEqual(openCirclePoints(5, Rng.stream("c", 1)), pts.subarray(0, 10));
  });

  it("openCircle gives a [N, 2] tensor; thickness spreads the radius", () => {
    const t = openCircle(100, Rng.stream("c", 0), { radius: 2, thickness: 0.05 });
    assert.deepEqual(t.shape, [100, 2]);
    const r = Array.from(tf.tidy(() => t.square().sum(1).sqrt().dataSync()));
    const mean = r.reduce((a, b) => a + b, 0) / r.length;
    assert.ok(Math.abs(mean - 2) < 0.02 && r.some((v) => Math.abs(v - 2) > 0.03));
    t.dispose();
    const noisy = addGaussianNoise(new Float32Array(20000), 0.1, Rng.stream("n", 0));
    const std = Math.sqrt(noisy.reduce((a, v) => a + v * v, 0) / noisy.length);
    assert.ok(Math.abs(std - 0.1) < 0.003, `std ${std}`);
  });

  it("near the gap the posterior is bimodal and its mean falls into the gap", () => {
    const xt = [0, -1] as const;
    const s = sampleOpenCirclePosterior(xt, { accept: 400 });
    assert.equal(s.accepted, 400);
    let left = 0;
    for (let i = 0; i < s.accepted; i++) {
      const [x, y] = [s.points[2 * i]!, s.points[2 * i + 1]!];
      assert.ok(fromGap(x, y) >= GAP / 2 - 1e-6); // every sample is a data point
      if (x < 0) left++;
    }
    assert.ok(left > 120 && left < 280, `${left} of 400 on the left end`);
    // The mean is in the opening (angle inside the gap), off the ring, where there is no data.
    const [mx, my] = s.mean;
    assert.ok(fromGap(mx, my) < GAP / 4, `mean at angle ${fromGap(mx, my)} from the gap's centre`);
    const exact = openCirclePosteriorMean(xt);
    assert.ok(Math.hypot(mx - exact[0], my - exact[1]) < 0.03, `sampled ${s.mean}, exact ${exact}`);
    assert.ok(Math.abs(exact[0]) < 1e-9 && exact[1] > -0.99 && exact[1] < -0.95, `exact ${exact}`);
  });

  it("far from the gap the posterior mean is near the closest ring point", () => {
    const m = openCirclePosteriorMean([1.1, 0]);
    assert.ok(Math.hypot(m[0] - 1, m[1]) < 0.01, `${m}`);
    const s = sampleOpenCirclePosterior([1.1, 0], { accept: 300 });
    assert.ok(Math.hypot(s.mean[0] - m[0], s.mean[1] - m[1]) < 0.02);
  });
});
